import type { AlertEventName, FiringAlert } from "../model/alerts.js";
import { firstEntries } from "../model/entries.js";
import { type AlertEvent, ENTRIES_IN_ALERT } from "./events.js";
import type { AlertPhase } from "../model/alerts.js";
import type { AlertPlan } from "./lifecycle.js";

type Message = AlertEvent & { phase?: AlertPhase };

/** The webhook body, documented in docs/safety.md ("Alerts"); `version` changes only with a breaking change. */
export function webhookPayload(event: Message): object {
  const { conditions, ...rest } = event;
  return {
    version: 1,
    source: "travis-allowlist",
    phase: "firing",
    ...rest,
    conditions: conditions.map((c) => ({ target: c.target, about: c.about.slice(0, ENTRIES_IN_ALERT), count: c.about.length })),
  };
}

const PHASE_PREFIX: Record<AlertPhase, string> = { firing: "", reminder: "Still firing: ", resolved: "Resolved: " };

const TITLES: Record<AlertEventName, string> = {
  held: "Allowlist change held",
  failed: "Allowlist sync failed",
  unexpected: "Unexpected Travis CI ranges",
  changed: "Allowlist changed",
  drift: "Allowlist drift",
  exposure: "Allowlist admits addresses it should not",
  "denied-runner": "Published runners denied",
};

/** Slack's documented limits (Block Kit reference, chat.postMessage). */
export const SLACK_LIMITS = { text: 40_000, sectionText: 3_000, fieldText: 2_000, headerText: 150, contextText: 3_000, blocks: 50 } as const;

/** mrkdwn control characters, escaped as Slack asks: remote text must not form links or mentions. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** At most `limit` characters, saying how much was left out. */
export function capText(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const more = (n: number) => ` … (+${n} more characters)`;
  const keep = limit - more(text.length).length;
  return `${text.slice(0, keep)}${more(text.length - keep)}`;
}

/** As many entries as fit in `limit` characters, then `… (+N more)` for the rest. */
function fittedList(sign: string, entries: string[], total: number, limit: number): string {
  if (entries.length === 0) return "none";
  const shown: string[] = [];
  let length = 0;
  for (const entry of entries) {
    const item = `\`${sign}${escapeMrkdwn(entry)}\``;
    // Room is kept for the longest possible "more" suffix.
    if (length + item.length + 1 + 24 > limit) break;
    shown.push(item);
    length += item.length + 1;
  }
  const more = total - shown.length;
  return `${shown.join(" ")}${more > 0 ? ` … (+${more} more)` : ""}`;
}

/** Slack incoming-webhook message: `text` is the notification fallback, blocks the layout; every part within Slack's limits. */
export function slackPayload(event: Message): object {
  const prefix = PHASE_PREFIX[event.phase ?? "firing"];
  const fieldRoom = SLACK_LIMITS.fieldText - "*Remove*\n".length;
  return {
    text: capText(escapeMrkdwn(`${prefix}travis-allowlist ${event.event}: ${event.summary}`), SLACK_LIMITS.text),
    blocks: [
      { type: "header", text: { type: "plain_text", text: capText(`${prefix}travis-allowlist: ${TITLES[event.event]}`, SLACK_LIMITS.headerText) } },
      { type: "section", text: { type: "mrkdwn", text: capText(escapeMrkdwn(event.summary), SLACK_LIMITS.sectionText) } },
      {
        type: "section",
        fields: [
          { type: "mrkdwn", text: `*Desired entries*\n${event.desired.count}` },
          { type: "mrkdwn", text: `*Add / remove*\n+${event.counts.add} / -${event.counts.remove}` },
          { type: "mrkdwn", text: `*Add*\n${fittedList("+", event.entries.add, event.counts.add, fieldRoom)}` },
          { type: "mrkdwn", text: `*Remove*\n${fittedList("-", event.entries.remove, event.counts.remove, fieldRoom)}` },
        ],
      },
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            text: capText(
              `run \`${escapeMrkdwn(event.runId)}\` · ${event.time}${event.forced ? " · forced" : ""}${event.dryRun ? " · dry run" : ""}`,
              SLACK_LIMITS.contextText,
            ),
          },
        ],
      },
    ],
  };
}

const ALERT_NAMES: Record<AlertEventName, string> = {
  held: "TravisAllowlistHeld",
  failed: "TravisAllowlistFailed",
  unexpected: "TravisAllowlistUnexpectedRange",
  changed: "TravisAllowlistChanged",
  drift: "TravisAllowlistDrift",
  exposure: "TravisAllowlistExposure",
  "denied-runner": "TravisAllowlistDeniedRunner",
};

/** Informational events fire once and end on their own. */
const CHANGED_LIFETIME_MS = 3_600_000;

interface AlertmanagerLabels {
  alertname: string;
  severity: string;
  instance: string;
  service: string;
  event: AlertEventName;
}

interface AlertmanagerAlert {
  labels: AlertmanagerLabels;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
}

function labels(event: AlertEventName, severity: string, instance: string): AlertmanagerLabels {
  return { alertname: ALERT_NAMES[event], severity, instance, service: "travis-allowlist", event };
}

/**
 * What a condition is about goes in an annotation, never a label: a label is
 * part of an alert's identity to Alertmanager, and a new entry would start a
 * new alert and a new group each time.
 */
function annotations(a: FiringAlert): Record<string, string> {
  return {
    summary: a.summary,
    description: a.target ? `${a.target}: ${a.summary}` : a.summary,
    ...(a.about && a.about.length > 0 ? { about: firstEntries(a.about, ENTRIES_IN_ALERT) } : {}),
  };
}

/**
 * Alertmanager v2 `POST /api/v2/alerts` body. Every firing condition is sent on
 * every run with `endsAt` a few schedule periods ahead, so it stays firing while
 * runs keep seeing it and ends by itself if they stop; a condition that ended
 * is sent once with `endsAt` now. Alertmanager does its own deduplication.
 */
export function alertmanagerPayload(plan: Pick<AlertPlan, "messages" | "firing" | "resolved">, now: Date, horizonMs: number): AlertmanagerAlert[] {
  const alert = (a: FiringAlert, endsAt: Date): AlertmanagerAlert => ({
    labels: labels(a.event, a.severity, a.target),
    annotations: annotations(a),
    startsAt: a.since,
    endsAt: endsAt.toISOString(),
  });
  const changed = plan.messages
    .filter((m) => m.event === "changed")
    .flatMap((event) =>
      event.instances.map((instance) => ({
        labels: labels(event.event, event.severity, instance.target),
        annotations: {
          summary: event.summary,
          description: `${instance.target}: ${instance.status}, +${instance.add}/-${instance.remove}`,
          runId: event.runId,
        },
        startsAt: event.time,
        endsAt: new Date(Date.parse(event.time) + CHANGED_LIFETIME_MS).toISOString(),
      })),
    );
  return [
    ...plan.firing.map((a) => alert(a, new Date(now.getTime() + horizonMs))),
    ...plan.resolved.map((a) => alert(a, a.ended ? new Date(a.ended) : now)),
    ...changed,
  ];
}
