import type { ErrorCode } from "../errors.js";
import type { DesiredSummary, Duplicate, ErrorSummary, Exposure, SourceStatus } from "./result.js";

export interface InstanceDrift {
  target: string;
  /** About the instance itself rather than its list (an unauthenticated runtime API). */
  warnings?: string[];
  haproxyVersion: string | null;
  liveCount: number;
  ownedCount: number;
  foreignCount: number;
  /** Desired entries the instance does not hold; null while the desired set is unknown (a source failed). */
  missing: string[] | null;
  /** Owned entries the next sync removes (absent upstream past the grace period, excluded, or never planned); null while the desired set is unknown. */
  remove: string[] | null;
  /** Owned entries this tool never planned (drift): no grace period, removed by the next sync. */
  unexpected: string[];
  /** Desired entries this tool had put in place that disappeared behind its back (drift). */
  vanished: string[];
  /** Owned keys held only under a previous value, to be rewritten (present only then). */
  rewrite?: string[];
  /** Owned entries absent upstream, kept until `removeAt`; null while the desired set is unknown. */
  pendingRemoval: Array<{ entry: string; removeAt: string }> | null;
  /** Keys held under more than one value. */
  duplicates: Duplicate[];
  /** Who gets in that should not, by HAProxy's own matcher. */
  exposures: Exposure[];
  /** Removed entries not put to the matcher (over the per-run limit). */
  uncheckedRemovals?: number;
  /** Null while the desired set is unknown: drift and exposures are still judged, from the removal state. */
  inSync: boolean | null;
  error: string | null;
  errorCode?: ErrorCode;
  /** With `haproxy.denials`: the clients its table lists on this instance; null when the table could not be read (`deniedError` says why). */
  denied?: InstanceDenied | null;
  /** With `haproxy.denials`: why this instance's table was not read; else null. */
  deniedError?: ErrorSummary | null;
}

/** Who one instance's denied clients' table lists: everyone denied within the table's expire. */
export interface InstanceDenied {
  /** Addresses the table lists (entries that are no address are left out). */
  clients: number;
  /** Of them, addresses a source publishes (`stale` or `held` in `denials`) that this instance has not admitted since; null while the desired set is unknown. */
  published: number | null;
  /** The table was full (HAProxy evicts its oldest entries) or past the clients one run keeps: the counts are a recent sample. */
  truncated: boolean;
}

export interface StatusReport {
  version: 1;
  desired: DesiredSummary;
  sources: SourceStatus[];
  instances: InstanceDrift[];
  /** Entries that went away and came back (or the reverse) over the last day, with how often. */
  flaps: Record<string, number>;
  stateNotice: string | null;
  /** With `haproxy.denials`: the table each instance's `denied` counts come from, and the window it covers (its expire). */
  deniedTable?: { table: string; window: string };
  /** Null while the desired set is unknown (`error` says which source failed). */
  inSync: boolean | null;
  error: ErrorSummary | null;
  outcome: StatusOutcome;
}

/** What `status` found: every instance `in-sync`, something `drifted` (or needs a look), or `unknown` (a source or an instance could not be read). */
export const STATUS_OUTCOMES = ["in-sync", "drifted", "unknown"] as const;
export type StatusOutcome = (typeof STATUS_OUTCOMES)[number];

export function statusOutcomeOf(report: Pick<StatusReport, "error" | "instances" | "inSync">): StatusOutcome {
  if (report.error || report.instances.some((i) => i.error)) return "unknown";
  return report.inSync !== true || report.instances.some(needsAttention) ? "drifted" : "in-sync";
}

/** Anything a person should look at: drift, duplicates or exposures. */
export function needsAttention(instance: InstanceDrift): boolean {
  return (
    instance.inSync === false ||
    (instance.pendingRemoval?.length ?? 0) > 0 ||
    instance.unexpected.length > 0 ||
    instance.vanished.length > 0 ||
    instance.duplicates.length > 0 ||
    instance.exposures.length > 0
  );
}
