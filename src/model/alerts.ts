export type AlertEventName = "held" | "failed" | "unexpected" | "changed" | "drift" | "exposure";
export type Severity = "critical" | "warning" | "info";

/** One firing condition: an event on one instance (and, for a hold, under one guard), about a set of entries or addresses. */
export interface FiringAlert {
  event: AlertEventName;
  /** The instance, or "" for a condition of the whole run. */
  target: string;
  guard: string | null;
  severity: Severity;
  summary: string;
  since: string;
  lastSent: string;
  /** The entries or addresses it is about, as its last message named them (absent: none); one not among them is news. */
  about?: string[];
  /** Ended at this time; its end is still owed to Alertmanager, or to the chat sinks in `unsent`. */
  ended?: string;
  /** Chat sinks (Slack, webhooks; by label) that refused the last message about it: the next run sends it to them alone. */
  unsent?: { phase: "firing" | "reminder" | "resolved"; sinks: string[] };
}

/** What is firing, as the last run left it; kept in `stateDir` so that a CronJob remembers it too. */
export interface AlertState {
  version: 1;
  firing: Record<string, FiringAlert>;
}

export function emptyAlertState(): AlertState {
  return { version: 1, firing: {} };
}
