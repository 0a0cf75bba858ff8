import type { AbsenceRecord } from "../model/absence.js";

type AbsenceEvents = AbsenceRecord["events"];

const DAY_MS = 86_400_000;

/** The start of the day of history the state keeps. ISO times in UTC compare as text, which keeps tens of thousands of records cheap. */
export function dayBefore(now: Date): string {
  return new Date(now.getTime() - DAY_MS).toISOString();
}

/** The events within the last day. */
export function recentEvents(events: AbsenceEvents, dayAgo: string): AbsenceEvents {
  return events.every((e) => e.at > dayAgo) ? events : events.filter((e) => e.at > dayAgo);
}

/** Recent history worth keeping for an entry that is not pending: its events and a removal within the last day. */
export function history(events: AbsenceEvents, removedAt: string | undefined, dayAgo: string): AbsenceRecord | undefined {
  const removed = removedAt !== undefined && removedAt > dayAgo ? removedAt : undefined;
  if (events.length === 0 && removed === undefined) return undefined;
  return removed === undefined ? { events } : { removedAt: removed, events };
}

/** A flap is a reversal: gone then back, or back then gone; a single removal is none, however often it is repeated. */
export function flapsOf(entries: Record<string, AbsenceRecord>): Record<string, number> {
  const flaps: Record<string, number> = {};
  for (const [key, record] of Object.entries(entries)) {
    let reversals = 0;
    for (let i = 1; i < record.events.length; i++) if (record.events[i]?.kind !== record.events[i - 1]?.kind) reversals++;
    if (reversals > 0) flaps[key] = reversals;
  }
  return flaps;
}

/** This tool removed the entry after it went away upstream, and upstream has not given it back since. */
export function removedAndStillGone(record: AbsenceRecord | undefined): boolean {
  return record?.removedAt !== undefined && record.firstAbsent === undefined && record.events.at(-1)?.kind !== "back";
}

/** What a run knows of the entries: the ones published now, the ones it holds, and whether it reads only some instances. */
export interface SeenEntries {
  desiredKeys: ReadonlySet<string>;
  liveOwned: ReadonlySet<string>;
  partial?: boolean;
}

/**
 * The records of entries that are not absent now, carried into the next
 * state: the ones that came back get a "back" event, the rest keep their
 * recent history. `unseen` are the pending entries a partial run cannot see,
 * kept whole, to keep their provenance too.
 */
export function carriedHistory(
  previous: Record<string, AbsenceRecord>,
  seen: SeenEntries,
  at: string,
  dayAgo: string,
): { entries: Record<string, AbsenceRecord>; unseen: Set<string> } {
  const entries: Record<string, AbsenceRecord> = {};
  const unseen = new Set<string>();
  for (const [key, record] of Object.entries(previous)) {
    if (seen.liveOwned.has(key) && !seen.desiredKeys.has(key)) continue;
    if (seen.partial && record.firstAbsent !== undefined && !seen.desiredKeys.has(key)) {
      entries[key] = { firstAbsent: record.firstAbsent, events: recentEvents(record.events, dayAgo) };
      unseen.add(key);
      continue;
    }
    // Published again after it went away or was removed: "back", also when the day's pruning took its "gone".
    const cameBack = (record.firstAbsent !== undefined || record.removedAt !== undefined) && seen.desiredKeys.has(key);
    const events = recentEvents(cameBack && record.events.at(-1)?.kind !== "back" ? [...record.events, { at, kind: "back" as const }] : record.events, dayAgo);
    const kept = history(events, record.removedAt, dayAgo);
    if (kept) entries[key] = kept;
  }
  return { entries, unseen };
}
