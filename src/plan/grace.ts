import { type Cidr, overlaps, parseCidr } from "../model/cidr.js";

/** An entry's absence and its comings and goings over the last day. */
export interface AbsenceRecord {
  firstAbsent?: string;
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
}

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
}

export type RemovalReason = "grace expired" | "grace disabled" | "excluded" | "source removed from config";

export interface GraceDecision {
  /** Entries that stay until `removeAt`. */
  pending: Map<string, string>;
  /** Why each other absent entry goes now. */
  removeNow: Map<string, RemovalReason>;
  nextState: AbsenceState;
  /** How often each address came or went over the last day (non-zero only). */
  flaps: Record<string, number>;
}

const DAY_MS = 86_400_000;

export function emptyState(map: string): AbsenceState {
  return { version: 1, map, provenance: [], entries: {} };
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
  const recent = (events: AbsenceRecord["events"]) => events.filter((e) => now - Date.parse(e.at) < DAY_MS);
  const entries: Record<string, AbsenceRecord> = {};

  // Entries with history: the ones that came back get a "back" event; the rest keep recent history.
  for (const [key, record] of Object.entries(previous.entries)) {
    if (input.liveOwned.has(key) && !input.desiredKeys.has(key)) continue;
    const events = recent(record.firstAbsent && input.desiredKeys.has(key) ? [...record.events, { at, kind: "back" as const }] : record.events);
    if (events.length > 0) entries[key] = { events };
  }

  const absent = new Set<string>();
  for (const key of input.liveOwned) if (!input.desiredKeys.has(key)) absent.add(key);
  // Only absent entries need their earlier provenance.
  const sourcesOf = new Map<string, string[]>();
  if (absent.size > 0) for (const group of previous.provenance) for (const key of group.entries) if (absent.has(key)) sourcesOf.set(key, group.sources);

  const pending = new Map<string, string>();
  const removeNow = new Map<string, RemovalReason>();
  const keptProvenance: Array<{ key: string; sources: string[] }> = [];
  for (const key of absent) {
    const record = previous.entries[key];
    const sources = sourcesOf.get(key);
    const parsed = parseCidr(key, { lenient: true });
    const firstAbsent = record?.firstAbsent ?? at;
    const events = recent(record?.firstAbsent ? record.events : [...(record?.events ?? []), { at, kind: "gone" as const }]);
    if (parsed.ok && holes.some((hole) => overlaps(hole, parsed.cidr))) removeNow.set(key, "excluded");
    else if (sources && sources.length > 0 && sources.every((s) => !input.configSources.has(s))) removeNow.set(key, "source removed from config");
    else if (input.noGrace || input.removeAfterMs === 0) removeNow.set(key, "grace disabled");
    else if (now - Date.parse(firstAbsent) >= input.removeAfterMs) removeNow.set(key, "grace expired");
    else pending.set(key, new Date(Date.parse(firstAbsent) + input.removeAfterMs).toISOString());
    if (removeNow.has(key)) {
      // A removed entry keeps only its history, for the flap count.
      if (events.length > 0) entries[key] = { events };
    } else {
      entries[key] = { firstAbsent, events };
      if (sources) keptProvenance.push({ key, sources });
    }
  }

  const provenance = keptProvenance.length === 0 ? [...input.desired] : [...input.desired, ...groupBySources(keptProvenance)];
  const flaps = Object.fromEntries(Object.entries(entries).map(([key, record]) => [key, record.events.length] as const));
  return { pending, removeNow, nextState: { version: 1, map: previous.map, provenance, entries }, flaps };
}
