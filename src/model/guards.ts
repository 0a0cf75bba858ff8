/** Every guard, in the order they are judged; minEntries alone can not be overridden. */
export const GUARD_NAMES = ["minEntries", "maxAdditions", "maxRemovals", "expected"] as const;
export type GuardName = (typeof GUARD_NAMES)[number];

/** At most this many entries, or at most this share of the instance's owned set. */
export type Limit = { count: number } | { fraction: number };

export interface GuardSettings {
  minEntries: number;
  maxAdditions: Limit;
  maxRemovals: Limit;
  expected?: string[];
}
