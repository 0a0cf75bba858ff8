import type { AbsenceRecord, AbsenceState, SourceGroup } from "../model/absence.js";
import { type Cidr, overlaps, parseCidr } from "../model/cidr.js";

export interface GraceInput {
  state: AbsenceState;
  desired: ReadonlyArray<SourceGroup>;
  desiredKeys: ReadonlySet<string>;
  /** Canonical keys this tool owns on any instance. */
  liveOwned: ReadonlySet<string>;
  /** Sources in the config now. */
  configSources: ReadonlySet<string>;
  exclude: readonly string[];
  removeAfterMs: number;
  noGrace: boolean;
  now: Date;
  /**
   * False when there is no state to tell a published entry from one nobody
   * published (first run, lost or corrupt state): every absent entry then gets
   * the grace period, as the conservative choice.
   */
  stateKnown: boolean;
  /**
   * The run reads only some of the instances (`--instance`): an entry absent
   * upstream that none of them holds may still be held by another, so its
   * record and provenance are kept as they were, not closed.
   */
  partial?: boolean;
}

export type RemovalReason = "grace expired" | "grace disabled" | "excluded" | "source removed from config" | "never desired";

export interface GraceDecision {
  /** Entries that stay until `removeAt`. */
  pending: Map<string, string>;
  /** Why each other absent entry goes now. */
  removeNow: Map<string, RemovalReason>;
  nextState: AbsenceState;
  /** Owned live entries this tool never planned (drift): removed now, no grace period. */
  unexpected: Set<string>;
  /** Entries that went away and came back, or the reverse, over the last day, with how often (non-zero only). */
  flaps: Record<string, number>;
}

const DAY_MS = 86_400_000;

/** Groups desired entries by their (sorted) source names. */
export function groupBySources(entries: Iterable<{ key: string; sources: readonly string[] }>): SourceGroup[] {
  const groups = new Map<string, SourceGroup>();
  for (const { key, sources } of entries) {
    const signature = sources.length === 1 ? (sources[0] as string) : [...sources].sort().join("\u0000");
    let group = groups.get(signature);
    if (!group) {
      group = { sources: [...sources].sort(), entries: [] };
      groups.set(signature, group);
    }
    group.entries.push(key);
  }
  return [...groups.values()];
}

/** Recent history worth keeping for an entry that is not pending: its events and a removal within the last day. */
function history(events: AbsenceRecord["events"], removedAt: string | undefined, dayAgo: string): AbsenceRecord | undefined {
  const removed = removedAt !== undefined && removedAt > dayAgo ? removedAt : undefined;
  if (events.length === 0 && removed === undefined) return undefined;
  return removed === undefined ? { events } : { removedAt: removed, events };
}

/** A flap is a reversal: gone then back, or back then gone; a single removal is none, however often it is repeated. */
function flapsOf(entries: Record<string, AbsenceRecord>): Record<string, number> {
  const flaps: Record<string, number> = {};
  for (const [key, record] of Object.entries(entries)) {
    let reversals = 0;
    for (let i = 1; i < record.events.length; i++) if (record.events[i]?.kind !== record.events[i - 1]?.kind) reversals++;
    if (reversals > 0) flaps[key] = reversals;
  }
  return flaps;
}

/** This tool removed the entry after it went away upstream, and upstream has not given it back since. */
function removedAndStillGone(record: AbsenceRecord | undefined): boolean {
  return record?.removedAt !== undefined && record.firstAbsent === undefined && record.events.at(-1)?.kind !== "back";
}

/**
 * The state a run leaves once it has applied: entries it removed on some
 * instance are marked with the time, and the instances that now hold the
 * desired set are remembered. Pure.
 */
export function settleState(
  next: AbsenceState,
  outcome: {
    removed: Iterable<string>;
    converged: Iterable<string>;
    now: Date;
    /** The process each instance ran as, when known. */
    processes?: ReadonlyMap<string, string | undefined>;
    /** The instances a narrowed run (`--instance`) was about; every other instance keeps what the state said of it. */
    narrowedTo?: ReadonlyArray<string>;
  },
): AbsenceState {
  const at = outcome.now.toISOString();
  const entries = { ...next.entries };
  for (const key of outcome.removed) {
    const { firstAbsent: _pendingNoMore, ...rest } = entries[key] ?? { events: [] };
    entries[key] = { ...rest, removedAt: at };
  }
  // Only what this run left holding the desired set: an instance it did not reach (--instance)
  // may lack entries the desired set has gained since, and that is no one's doing. What an
  // earlier run said of such an instance still holds, and is how drift there is seen.
  const outside = (target: string) => outcome.narrowedTo !== undefined && !outcome.narrowedTo.includes(target);
  const instances: Record<string, string> = Object.fromEntries(Object.entries(next.instances ?? {}).filter(([target]) => outside(target)));
  const processes: Record<string, string> = Object.fromEntries(Object.entries(next.processes ?? {}).filter(([target]) => outside(target)));
  for (const target of outcome.converged) {
    instances[target] = at;
    const process = outcome.processes?.get(target);
    if (process) processes[target] = process;
    else delete processes[target];
  }
  const { processes: _replaced, ...rest } = next;
  return { ...rest, entries, instances, ...(Object.keys(processes).length > 0 ? { processes } : {}) };
}

/**
 * Desired entries missing from an instance that the last saved run left
 * holding them: something other than this tool took them away. Not when the
 * instance is a new HAProxy process (a restart or reload): it loaded its map
 * file from disk, and what the file lacks is no one's doing. Pure.
 */
export function vanishedFrom(target: string, missing: ReadonlyArray<string>, state: AbsenceState, process?: string): string[] {
  if (missing.length === 0 || state.instances?.[target] === undefined) return [];
  const ranAs = state.processes?.[target];
  if (ranAs !== undefined && process !== undefined && ranAs !== process) return [];
  const before = new Set<string>();
  for (const group of state.provenance) for (const key of group.entries) before.add(key);
  return missing.filter((key) => before.has(key));
}

/**
 * Owned entries this tool removed from an instance, that upstream has not
 * given back since, and that the instance holds again: someone put them back
 * (drift). Not on an instance the removing run did not leave settled, and not
 * on a new HAProxy process, which loaded its map file from disk. Pure.
 */
export function reappearedOn(target: string, removing: ReadonlyArray<string>, state: AbsenceState, process?: string): string[] {
  const settledAt = state.instances?.[target];
  if (removing.length === 0 || settledAt === undefined) return [];
  const ranAs = state.processes?.[target];
  if (ranAs !== undefined && process !== undefined && ranAs !== process) return [];
  return removing.filter((key) => {
    const record = state.entries[key];
    return removedAndStillGone(record) && (record?.removedAt as string) <= settledAt;
  });
}

/** Entries removed within the last day, most recent first. */
export function recentlyRemoved(state: AbsenceState, now: Date): string[] {
  const dayAgo = new Date(now.getTime() - DAY_MS).toISOString();
  const removed: Array<{ key: string; at: string }> = [];
  for (const [key, r] of Object.entries(state.entries)) if (r.removedAt !== undefined && r.removedAt > dayAgo) removed.push({ key, at: r.removedAt });
  return removed.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).map((r) => r.key);
}

/**
 * The removal grace period, decided once for all instances of a map. Pure:
 * the clock is an input. An upstream flap keeps its entries; an operator's
 * decision (exclude, a source taken out of the config) does not wait.
 */
export function decideGrace(input: GraceInput): GraceDecision {
  const now = input.now.getTime();
  const at = input.now.toISOString();
  const previous = input.state;
  const holes: Cidr[] = input.exclude.flatMap((text) => {
    const parsed = parseCidr(text);
    return parsed.ok ? [parsed.cidr] : [];
  });
  // ISO times in UTC compare as text, which keeps tens of thousands of records cheap.
  const dayAgo = new Date(now - DAY_MS).toISOString();
  const recent = (events: AbsenceRecord["events"]) => (events.every((e) => e.at > dayAgo) ? events : events.filter((e) => e.at > dayAgo));
  const entries: Record<string, AbsenceRecord> = {};

  /** Pending entries a partial run cannot see: kept whole, with their provenance. */
  const unseen = new Set<string>();
  // Entries with history: the ones that came back get a "back" event; the rest keep recent history.
  for (const [key, record] of Object.entries(previous.entries)) {
    if (input.liveOwned.has(key) && !input.desiredKeys.has(key)) continue;
    if (input.partial && record.firstAbsent !== undefined && !input.desiredKeys.has(key)) {
      entries[key] = { firstAbsent: record.firstAbsent, events: recent(record.events) };
      unseen.add(key);
      continue;
    }
    // Published again after it went away or was removed: "back", also when the day's pruning took its "gone".
    const cameBack = (record.firstAbsent !== undefined || record.removedAt !== undefined) && input.desiredKeys.has(key);
    const events = recent(cameBack && record.events.at(-1)?.kind !== "back" ? [...record.events, { at, kind: "back" as const }] : record.events);
    const kept = history(events, record.removedAt, dayAgo);
    if (kept) entries[key] = kept;
  }

  const absent = new Set<string>();
  for (const key of input.liveOwned) if (!input.desiredKeys.has(key)) absent.add(key);
  // Only absent entries need their earlier provenance.
  const sourcesOf = new Map<string, string[]>();
  if (absent.size + unseen.size > 0)
    for (const group of previous.provenance) for (const key of group.entries) if (absent.has(key) || unseen.has(key)) sourcesOf.set(key, group.sources);
  const unexpected = new Set<string>();

  const pending = new Map<string, string>();
  const removeNow = new Map<string, RemovalReason>();
  const keptProvenance: Array<{ key: string; sources: string[] }> = [];
  for (const key of unseen) {
    const sources = sourcesOf.get(key);
    if (sources) keptProvenance.push({ key, sources });
  }
  for (const key of absent) {
    const record = previous.entries[key];
    const wasDesired = sourcesOf.has(key) || record?.firstAbsent !== undefined || (record?.events.length ?? 0) > 0;
    if (input.stateKnown && !wasDesired) {
      // Nobody published it: a grace period would only keep a stranger's entry open.
      unexpected.add(key);
      removeNow.set(key, "never desired");
      const kept = record && history(recent(record.events), record.removedAt, dayAgo);
      if (kept) entries[key] = kept;
      continue;
    }
    const sources = sourcesOf.get(key);
    const parsed = parseCidr(key, { lenient: true });
    const firstAbsent = record?.firstAbsent ?? at;
    // Still gone since this tool removed it: live again only on an instance that run did not reach, or put back by someone.
    const stillGone = removedAndStillGone(record);
    // Events are upstream's comings and goings: "gone" only when it was last seen published.
    const events = recent(record?.firstAbsent || stillGone ? (record?.events ?? []) : [...(record?.events ?? []), { at, kind: "gone" as const }]);
    if (parsed.ok && holes.some((hole) => overlaps(hole, parsed.cidr))) removeNow.set(key, "excluded");
    else if (sources && sources.length > 0 && sources.every((s) => !input.configSources.has(s))) removeNow.set(key, "source removed from config");
    else if (input.noGrace || input.removeAfterMs === 0) removeNow.set(key, "grace disabled");
    else if (stillGone || now - Date.parse(firstAbsent) >= input.removeAfterMs) removeNow.set(key, "grace expired");
    else pending.set(key, new Date(Date.parse(firstAbsent) + input.removeAfterMs).toISOString());
    if (removeNow.has(key)) {
      // A removed entry keeps only its history, for the flap count and the exposure checks.
      const kept = history(events, record?.removedAt, dayAgo);
      if (kept) entries[key] = kept;
    } else {
      entries[key] = { firstAbsent, events };
      if (sources) keptProvenance.push({ key, sources });
    }
  }

  const provenance = keptProvenance.length === 0 ? [...input.desired] : [...input.desired, ...groupBySources(keptProvenance)];
  const nextState: AbsenceState = { version: 1, map: previous.map, provenance, entries };
  if (previous.instances) nextState.instances = previous.instances;
  if (previous.processes) nextState.processes = previous.processes;
  return { pending, removeNow, unexpected, nextState, flaps: flapsOf(entries) };
}

/**
 * Drift on one instance judged by the removal state alone, when the sources
 * cannot say what is desired now: owned entries the state never knew of or
 * that this tool removed and someone put back (`unexpected`), and entries the
 * last run left in place that are gone (`vanished`). Pure.
 */
export function driftFromState(
  target: string,
  live: { owned: ReadonlyArray<string>; all: ReadonlySet<string> },
  state: AbsenceState,
  options: { process?: string | undefined; stateKnown: boolean },
): { unexpected: string[]; vanished: string[] } {
  const known = new Set<string>();
  for (const group of state.provenance) for (const key of group.entries) known.add(key);
  const reappeared = new Set(reappearedOn(target, live.owned, state, options.process));
  const neverKnown = (key: string) => {
    const record = state.entries[key];
    return !known.has(key) && record?.firstAbsent === undefined && (record?.events.length ?? 0) === 0;
  };
  const unexpected = live.owned.filter((key) => reappeared.has(key) || (options.stateKnown && neverKnown(key)));
  const missing = [...known].filter((key) => !live.all.has(key));
  return { unexpected, vanished: vanishedFrom(target, missing, state, options.process) };
}
