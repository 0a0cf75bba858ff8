/**
 * Where a failed instance was left: its old set, a change committed (read
 * back or not), a change held only in memory (a reload brings back the old
 * entries), or not known (the old or the complete new set: each change is atomic).
 */
export const LEFT_STATES = ["unchanged", "changed", "changed-in-memory", "unknown"] as const;
export type LeftState = (typeof LEFT_STATES)[number];

/** Where an instance was left, as data, and in the words a person acts on. */
export interface Left {
  state: LeftState;
  words: string;
}

export const leftAs = (state: LeftState, words: string): Left => ({ state, words });
