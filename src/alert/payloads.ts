import type { AlertEvent, AlertEventName } from "./events.js";

/** The webhook body, documented in the README; `version` changes only with a breaking change. */
export function webhookPayload(event: AlertEvent): object {
  return { version: 1, source: "travis-allowlist", ...event };
}

const TITLES: Record<AlertEventName, string> = {
  held: "Allowlist change held",
  failed: "Allowlist sync failed",
  unexpected: "Unexpected Travis CI ranges",
  changed: "Allowlist changed",
  drift: "Allowlist drift",
  exposure: "Allowlist admits addresses it should not",
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
export function slackPayload(event: AlertEvent): object {
  const fieldRoom = SLACK_LIMITS.fieldText - "*Remove*\n".length;
  return {
    text: capText(escapeMrkdwn(`travis-allowlist ${event.event}: ${event.summary}`), SLACK_LIMITS.text),
    blocks: [
      { type: "header", text: { type: "plain_text", text: capText(`travis-allowlist: ${TITLES[event.event]}`, SLACK_LIMITS.headerText) } },
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
};

/** Informational events fire once and end on their own. */
const CHANGED_LIFETIME_MS = 3_600_000;

interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
}

function labels(event: AlertEventName, severity: string, instance: string): Record<string, string> {
  return { alertname: ALERT_NAMES[event], severity, instance, service: "travis-allowlist", event };
}

/** Alertmanager v2 `POST /api/v2/alerts` body: one alert per event and instance, plus resolutions. */
export function alertmanagerPayload(events: AlertEvent[], resolvedTargets: string[], now: Date): AlertmanagerAlert[] {
  const alerts: AlertmanagerAlert[] = events.flatMap((event) =>
    event.instances.map((instance) => ({
      labels: labels(event.event, event.severity, instance.target),
      annotations: {
        summary: event.summary,
        description: `${instance.target}: ${instance.status}, +${instance.add}/-${instance.remove}${instance.error ? `, error: ${instance.error}` : ""}`,
        runId: event.runId,
      },
      startsAt: event.time,
      ...(event.event === "changed" ? { endsAt: new Date(Date.parse(event.time) + CHANGED_LIFETIME_MS).toISOString() } : {}),
    })),
  );
  for (const target of resolvedTargets) {
    for (const [event, severity] of [
      ["held", "warning"],
      ["failed", "critical"],
    ] as const) {
      alerts.push({
        labels: labels(event, severity, target),
        annotations: { summary: `resolved: ${target} is in sync` },
        startsAt: now.toISOString(),
        endsAt: now.toISOString(),
      });
    }
  }
  return alerts;
}
