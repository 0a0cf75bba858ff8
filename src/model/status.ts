import type { ErrorCode } from "../errors.js";
import type { Duplicate, ErrorSummary, Exposure, SourceStatus } from "./result.js";

export interface InstanceDrift {
  target: string;
  /** About the instance itself rather than its list (an unauthenticated runtime API). */
  warnings?: string[];
  haproxyVersion: string | null;
  liveCount: number;
  ownedCount: number;
  foreignCount: number;
  /** Desired entries the instance does not hold. */
  missing: string[];
  /** Owned entries the next sync removes (absent upstream past the grace period, excluded, or never planned). */
  remove: string[];
  /** Owned entries this tool never planned (drift): no grace period, removed by the next sync. */
  unexpected: string[];
  /** Desired entries this tool had put in place that disappeared behind its back (drift). */
  vanished: string[];
  /** Owned keys held only under a previous value, to be rewritten (present only then). */
  rewrite?: string[];
  /** Owned entries absent upstream, kept until `removeAt`. */
  pendingRemoval: Array<{ entry: string; removeAt: string }>;
  /** Keys held under more than one value. */
  duplicates: Duplicate[];
  /** Who gets in that should not, by HAProxy's own matcher. */
  exposures: Exposure[];
  /** Removed entries not put to the matcher (over the per-run limit). */
  uncheckedRemovals?: number;
  inSync: boolean;
  error: string | null;
  errorCode?: ErrorCode;
}

export interface StatusReport {
  version: 1;
  desired: { count: number; digest: string | null };
  sources: SourceStatus[];
  instances: InstanceDrift[];
  /** Entries that went away and came back (or the reverse) over the last day, with how often. */
  flaps: Record<string, number>;
  stateNotice: string | null;
  inSync: boolean;
  error: ErrorSummary | null;
  exitCode: number;
}

/** Anything a person should look at: drift, duplicates or exposures. */
export function needsAttention(instance: InstanceDrift): boolean {
  return (
    !instance.inSync ||
    instance.pendingRemoval.length > 0 ||
    instance.unexpected.length > 0 ||
    instance.vanished.length > 0 ||
    instance.duplicates.length > 0 ||
    instance.exposures.length > 0
  );
}
