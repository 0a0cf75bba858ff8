/** An entry's absence, its removal and its comings and goings over the last day. */
export interface AbsenceRecord {
  firstAbsent?: string;
  /** When this tool last removed the entry from the live lists, for whatever reason. */
  removedAt?: string;
  events: Array<{ at: string; kind: "gone" | "back" }>;
}

/** Desired entries grouped by the sources that gave them. */
export interface SourceGroup {
  sources: string[];
  entries: string[];
}

/**
 * What the state file remembers: where every desired entry came from (grouped,
 * so that 100,000 entries from one feed cost one list), and records only for
 * entries that are absent or came and went over the last day.
 */
export interface AbsenceState {
  version: 1;
  map: string;
  provenance: SourceGroup[];
  entries: Record<string, AbsenceRecord>;
  /** Targets the last saved run left holding its desired set, with when: an entry missing there later vanished behind its back. */
  instances?: Record<string, string>;
  /**
   * The HAProxy process (`pid@start`) each of those instances ran as: a new
   * process loaded its map file from disk, so what is missing there was not
   * taken away behind this tool's back.
   */
  processes?: Record<string, string>;
}

export function emptyState(map: string): AbsenceState {
  return { version: 1, map, provenance: [], entries: {} };
}
