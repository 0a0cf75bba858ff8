import type { GuardName } from "./guards.js";

/** Every alert event, in the order the config documents them. */
export const ALERT_EVENTS = ["held", "failed", "unexpected", "changed", "drift", "exposure", "denied-runner"] as const;
export type AlertEventName = (typeof ALERT_EVENTS)[number];
export const SEVERITIES = ["critical", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** `firing` when a condition starts, `reminder` after `alerts.repeatInterval`, `resolved` when it ends. */
export const ALERT_PHASES = ["firing", "reminder", "resolved"] as const;
export type AlertPhase = (typeof ALERT_PHASES)[number];

/** Where alerts go: chat sinks get messages, Alertmanager every firing condition on every run. */
export const SINK_TYPES = ["slack", "alertmanager", "webhook"] as const;
export type SinkType = (typeof SINK_TYPES)[number];

/** One firing condition: an event on one instance (and, for a hold, under one guard), about a set of entries or addresses. */
export interface FiringAlert {
  event: AlertEventName;
  /** The instance, or "" for a condition of the whole run. */
  target: string;
  guard: GuardName | null;
  severity: Severity;
  summary: string;
  since: string;
  lastSent: string;
  /** The entries or addresses it is about, as its last message named them (absent: none); one not among them is news. */
  about?: string[];
  /** Ended at this time; its end is still owed to Alertmanager, or to the chat sinks in `unsent`. */
  ended?: string;
  /** Chat sinks (Slack, webhooks; by label) that refused the last message about it: the next run sends it to them alone. */
  unsent?: { phase: AlertPhase; sinks: string[] };
}

/** What is firing, as the last run left it; kept in `stateDir` so that a CronJob remembers it too. */
export interface AlertState {
  version: 1;
  firing: Record<string, FiringAlert>;
}

export function emptyAlertState(): AlertState {
  return { version: 1, firing: {} };
}
