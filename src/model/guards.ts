/** Every guard, in the order they are judged; minEntries and maxAddresses can not be overridden. */
export const GUARD_NAMES = ["minEntries", "maxAddresses", "maxAdditions", "maxRemovals", "expected"] as const;
export type GuardName = (typeof GUARD_NAMES)[number];

/** At most this many entries, or at most this share of the instance's owned set. */
export type Limit = { count: number } | { fraction: number };

export interface GuardSettings {
  minEntries: number;
  /** All desired entries together admit at most this many IPv4 addresses plus IPv6 /64 networks. */
  maxAddresses: number;
  maxAdditions: Limit;
  maxRemovals: Limit;
  expected?: string[];
}
