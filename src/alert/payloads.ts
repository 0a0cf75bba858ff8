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

/** Slack incoming-webhook message: `text` is the notification fallback, blocks the layout. */
export function slackPayload(event: AlertEvent): object {
  const list = (sign: string, entries: string[], total: number) =>
    entries.length === 0 ? "none" : `${entries.map((e) => `\`${sign}${e}\``).join(" ")}${total > entries.length ? ` … (+${total - entries.length} more)` : ""}`;
  return {
    text: `travis-allowlist ${event.event}: ${event.summary}`,
    blocks: [
      { type: "header", text: { type: "plain_text", text: `travis-allowlist: ${TITLES[event.event]}` } },
      { type: "section", text: { type: "mrkdwn", text: event.summary } },
      {
        type: "section",
        fields: [
          { type: "mrkdwn", text: `*Desired entries*\n${event.desired.count}` },
          { type: "mrkdwn", text: `*Add / remove*\n+${event.counts.add} / -${event.counts.remove}` },
          { type: "mrkdwn", text: `*Add*\n${list("+", event.entries.add, event.counts.add)}` },
          { type: "mrkdwn", text: `*Remove*\n${list("-", event.entries.remove, event.counts.remove)}` },
        ],
      },
      {
        type: "context",
        elements: [{ type: "mrkdwn", text: `run \`${event.runId}\` · ${event.time}${event.forced ? " · forced" : ""}${event.dryRun ? " · dry run" : ""}` }],
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
