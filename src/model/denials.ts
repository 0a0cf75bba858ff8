import type { ErrorSummary } from "./result.js";

/**
 * Why a client HAProxy turned away was not admitted: `stale` (published now, the
 * instance did not admit it yet), `held` (a held run planned to add it),
 * `removed` (this tool removed it), `excluded` (`exclude` covers it),
 * `unpublished` (no source publishes it).
 */
export const DENIAL_REASONS = ["stale", "held", "removed", "excluded", "unpublished"] as const;
export type DenialReason = (typeof DENIAL_REASONS)[number];

/** Reasons that mean a runner the sources publish is being turned away (when the denial is `current`). */
export const PUBLISHED_DENIAL_REASONS: ReadonlySet<DenialReason> = new Set<DenialReason>(["stale", "held"]);

/** One client a stick table counted on one instance. */
export interface DeniedClient {
  /** Canonical address, without a prefix length: `34.66.25.221`, `2001:db8::1`. */
  address: string;
  requests: number;
  /** When the last tracked request came (epoch ms), derived from the entry's expiry; a number, as a table may list a million. */
  lastSeenMs: number;
}

/** One instance's part of a denial. */
export interface DeniedOn {
  target: string;
  requests: number;
  lastSeen: string;
  /** The address is live on this instance now and was last denied before it was admitted there: history, not a current denial. */
  admitted: boolean;
}

/** One denied address over every instance, with the reason it was not admitted. */
export interface Denial {
  address: string;
  /** Over all instances. */
  requests: number;
  /** The latest over all instances. */
  lastSeen: string;
  reason: DenialReason;
  detail: string;
  /** The run that removed the address, or held its addition; else null. */
  runId: string | null;
  instances: DeniedOn[];
  /** Some instance still turns it away: false when every instance that denied it has admitted it since. */
  current: boolean;
}

/** How much of one instance's stick table was read. */
export interface TableSummary {
  target: string;
  table: string;
  /** Entries the table listed, addresses or not. */
  entries: number;
  /** True when not every denied client is in the result: the table was full (HAProxy evicts the oldest) or the reader stopped at its limit. */
  truncated: boolean;
  /** Entries left out: keys that are no single address, and lines that do not parse. */
  skipped: number;
  /** Why this instance's table was not read (the instance failed, or has no such table); its clients are then missing from `denials`. */
  error: ErrorSummary | null;
}

/**
 * How `denials` ended: `unknown` when something could not be read (the
 * sources, an instance, a table), else whether a published runner was turned away.
 */
export const DENIALS_OUTCOMES = ["clear", "published-denied", "unknown"] as const;
export type DenialsOutcome = (typeof DENIALS_OUTCOMES)[number];

/** Who was turned away and why, over every instance read. */
export interface DenialsReport {
  version: 1;
  denials: Denial[];
  tables: TableSummary[];
  error: ErrorSummary | null;
  outcome: DenialsOutcome;
}

/** How many clients one instance's table listed for one reason, and their requests: the denied-clients gauges. */
export interface DeniedCount {
  target: string;
  reason: DenialReason;
  clients: number;
  requests: number;
}

/** What a sync found in the tables once it was done: the published addresses still turned away (the `denied-runner` alert), and the counts. */
export interface RunDenials {
  runners: Denial[];
  counts: DeniedCount[];
}

/** Each instance's clients and requests by reason. */
export function deniedCounts(denials: ReadonlyArray<Denial>): DeniedCount[] {
  const counts = new Map<string, DeniedCount>();
  for (const denial of denials) {
    for (const on of denial.instances) {
      const key = `${on.target}\n${denial.reason}`;
      const count = counts.get(key) ?? { target: on.target, reason: denial.reason, clients: 0, requests: 0 };
      count.clients += 1;
      count.requests += on.requests;
      counts.set(key, count);
    }
  }
  return [...counts.values()];
}

/** One look at the denied clients' tables, judged against what the last run knew. */
export interface DenialLook {
  /** The published runners still turned away, and the counts for the gauges. */
  denials: RunDenials;
  /**
   * Denied addresses that no source published at the last run and that were not
   * in the tables it read: a source may have published them since, which only a sync can tell.
   */
  newcomers: string[];
}
