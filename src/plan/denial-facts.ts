import type { DeniedClient } from "../model/denials.js";
import type { GuardName } from "../model/guards.js";
import type { Provenance } from "../model/provenance.js";

/** A desired entry and who publishes it; `since` when the caller knows when it was first published. */
export interface PublishedEntry {
  entry: string;
  provenance: ReadonlyArray<Provenance>;
  since: string | null;
}

/** One instance's live keys (owned and foreign, canonical); null when the list could not be read. */
export interface InstanceLive {
  target: string;
  entries: ReadonlyArray<string> | null;
}

/** The run a guard held, with the entries it planned to add on any instance. */
export interface HeldRun {
  /** The held sync as the audit trail recorded it; null when the plan would be held but no sync has run it yet. */
  runId: string | null;
  guard: GuardName;
  message: string;
  additions: ReadonlyArray<string>;
}

/** An entry this tool removed: from the audit trail or the removal state. */
export interface Removal {
  entry: string;
  at: string;
  runId: string | null;
  why: string;
}

/** An entry's latest addition to one instance: from the audit trail, or from the run that applied it. */
export interface Admission {
  target: string;
  entry: string;
  at: string;
}

/** What one planned run knows, beside the stick tables, to say why each denied client was denied. */
export interface DenialFacts {
  now: Date;
  denied: ReadonlyArray<{ target: string; clients: ReadonlyArray<DeniedClient> }>;
  published: ReadonlyArray<PublishedEntry>;
  live: ReadonlyArray<InstanceLive>;
  held: HeldRun | null;
  removals: ReadonlyArray<Removal>;
  /** When entries were last added on each instance: a denial before its address was admitted there is history. */
  admissions: ReadonlyArray<Admission>;
  /** The config's `exclude`, canonical. */
  exclude: ReadonlyArray<string>;
  /** `--since`: only clients whose last request is at most this old. */
  sinceMs?: number;
}
