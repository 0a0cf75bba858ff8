import type { AbsenceRecord, AbsenceState, SourceGroup } from "../model/absence.js";
import { type Cidr, overlaps, parseCidr } from "../model/cidr.js";
import { carriedHistory, dayBefore, flapsOf, history, recentEvents, removedAndStillGone } from "./grace-history.js";

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
  const dayAgo = dayBefore(now);
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
  const at = input.now.toISOString();
  const dayAgo = dayBefore(input.now);
  const { entries, unseen } = carriedHistory(input.state.entries, input, at, dayAgo);
  const absent = new Set<string>();
  for (const key of input.liveOwned) if (!input.desiredKeys.has(key)) absent.add(key);
  const sourcesOf = earlierSources(input.state.provenance, absent, unseen);
  const context: AbsenceContext = { input, at, dayAgo, holes: excludedRanges(input.exclude), sourcesOf };
  const pending = new Map<string, string>();
  const removeNow = new Map<string, RemovalReason>();
  const unexpected = new Set<string>();
  for (const key of absent) {
    const fate = fateOfAbsent(key, context);
    if (fate.record) entries[key] = fate.record;
    if ("staysUntil" in fate) pending.set(key, fate.staysUntil);
    else {
      if (fate.goes === "never desired") unexpected.add(key);
      removeNow.set(key, fate.goes);
    }
  }
  // What a partial run cannot see, and what stays pending, keeps its provenance.
  const keptProvenance = [...withSources(unseen, sourcesOf), ...withSources(pending.keys(), sourcesOf)];
  return { pending, removeNow, unexpected, nextState: nextStateOf(input.state, input.desired, keptProvenance, entries), flaps: flapsOf(entries) };
}

/** What the judgement of each absent entry reads besides the entry: the run, its time, and what the state and the config say. */
interface AbsenceContext {
  input: GraceInput;
  at: string;
  dayAgo: string;
  /** The `exclude` ranges: an entry inside one goes at once. */
  holes: Cidr[];
  /** The sources that earlier gave each absent (or unseen) entry. */
  sourcesOf: ReadonlyMap<string, string[]>;
}

/** What becomes of one owned entry absent upstream: it goes now, for a reason, or stays until a time; with the record it leaves. */
type AbsentFate = { goes: RemovalReason; record: AbsenceRecord | undefined } | { staysUntil: string; record: AbsenceRecord };

function fateOfAbsent(key: string, context: AbsenceContext): AbsentFate {
  const { input, at, dayAgo } = context;
  const record = input.state.entries[key];
  const wasDesired = context.sourcesOf.has(key) || record?.firstAbsent !== undefined || (record?.events.length ?? 0) > 0;
  if (input.stateKnown && !wasDesired) {
    // Nobody published it: a grace period would only keep a stranger's entry open.
    return { goes: "never desired", record: record && history(recentEvents(record.events, dayAgo), record.removedAt, dayAgo) };
  }
  const firstAbsent = record?.firstAbsent ?? at;
  // Still gone since this tool removed it: live again only on an instance that run did not reach, or put back by someone.
  const stillGone = removedAndStillGone(record);
  // Events are upstream's comings and goings: "gone" only when it was last seen published.
  const events = recentEvents(record?.firstAbsent || stillGone ? (record?.events ?? []) : [...(record?.events ?? []), { at, kind: "gone" as const }], dayAgo);
  const goes = removalReason(key, { firstAbsent, stillGone }, context);
  // A removed entry keeps only its history, for the flap count and the exposure checks.
  if (goes) return { goes, record: history(events, record?.removedAt, dayAgo) };
  return { staysUntil: new Date(Date.parse(firstAbsent) + input.removeAfterMs).toISOString(), record: { firstAbsent, events } };
}

/** Why an entry published before and absent now goes at once; none while its grace period runs. */
function removalReason(key: string, absence: { firstAbsent: string; stillGone: boolean }, context: AbsenceContext): RemovalReason | undefined {
  const { input } = context;
  const parsed = parseCidr(key, { lenient: true });
  const sources = context.sourcesOf.get(key);
  if (parsed.ok && context.holes.some((hole) => overlaps(hole, parsed.cidr))) return "excluded";
  if (sources && sources.length > 0 && sources.every((s) => !input.configSources.has(s))) return "source removed from config";
  if (input.noGrace || input.removeAfterMs === 0) return "grace disabled";
  if (absence.stillGone || input.now.getTime() - Date.parse(absence.firstAbsent) >= input.removeAfterMs) return "grace expired";
  return undefined;
}

function excludedRanges(exclude: readonly string[]): Cidr[] {
  return exclude.flatMap((text) => {
    const parsed = parseCidr(text);
    return parsed.ok ? [parsed.cidr] : [];
  });
}

/** The sources that gave each of `absent` and `unseen` in the last saved run: only those entries need their earlier provenance. */
function earlierSources(provenance: ReadonlyArray<SourceGroup>, absent: ReadonlySet<string>, unseen: ReadonlySet<string>): Map<string, string[]> {
  const sourcesOf = new Map<string, string[]>();
  if (absent.size + unseen.size > 0)
    for (const group of provenance) for (const key of group.entries) if (absent.has(key) || unseen.has(key)) sourcesOf.set(key, group.sources);
  return sourcesOf;
}

/** The entries among `keys` whose sources are known, with them. */
function withSources(keys: Iterable<string>, sourcesOf: ReadonlyMap<string, string[]>): Array<{ key: string; sources: string[] }> {
  const known: Array<{ key: string; sources: string[] }> = [];
  for (const key of keys) {
    const sources = sourcesOf.get(key);
    if (sources) known.push({ key, sources });
  }
  return known;
}

/** The state after the decision: the desired set's provenance and that of the entries kept, the new records, the instances as they were. */
function nextStateOf(
  previous: AbsenceState,
  desired: ReadonlyArray<SourceGroup>,
  keptProvenance: ReadonlyArray<{ key: string; sources: string[] }>,
  entries: Record<string, AbsenceRecord>,
): AbsenceState {
  const provenance = keptProvenance.length === 0 ? [...desired] : [...desired, ...groupBySources(keptProvenance)];
  const nextState: AbsenceState = { version: 1, map: previous.map, provenance, entries };
  if (previous.instances) nextState.instances = previous.instances;
  if (previous.processes) nextState.processes = previous.processes;
  return nextState;
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
