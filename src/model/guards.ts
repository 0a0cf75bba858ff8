/** At most this many entries, or at most this share of the instance's owned set. */
export type Limit = { count: number } | { fraction: number };

export interface GuardSettings {
  minEntries: number;
  maxAdditions: Limit;
  maxRemovals: Limit;
  expected?: string[];
}
