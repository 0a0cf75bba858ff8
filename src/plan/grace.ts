import { type Cidr, overlaps, parseCidr } from "../model/cidr.js";

/** What the state file remembers per entry: when it went missing, where it came from, its comings and goings. */
export interface AbsenceRecord {
  firstAbsent?: string;
  sources?: string[];
  events: Array<{ at: string; kind: "gone" | "back" }>;
}

export interface AbsenceState {
  version: 1;
  map: string;
  entries: Record<string, AbsenceRecord>;
}

export interface GraceInput {
  state: AbsenceState;
  /** Desired canonical entries with the names of the sources that gave them. */
  desired: ReadonlyMap<string, readonly string[]>;
  /** Canonical keys this tool owns on any instance. */
  liveOwned: ReadonlySet<string>;
  /** Sources in the config now. */
  configSources: ReadonlySet<string>;
  exclude: readonly string[];
  removeAfterMs: number;
  noGrace: boolean;
  now: Date;
}

export interface GraceDecision {
  /** Entries that stay until `removeAt`. */
  pending: Map<string, string>;
  /** Why each other absent entry goes now. */
  removeNow: Map<string, "grace expired" | "grace disabled" | "excluded" | "source removed from config">;
  nextState: AbsenceState;
  /** How often each address came or went over the last day (non-zero only). */
  flaps: Record<string, number>;
}

const DAY_MS = 86_400_000;

export function emptyState(map: string): AbsenceState {
  return { version: 1, map, entries: {} };
}

/**
 * The removal grace period, decided once for all instances of a map. Pure:
 * the clock is an input. An upstream flap keeps its entries; an operator's
 * decision (exclude, a source taken out of the config) does not wait.
 */
export function decideGrace(input: GraceInput): GraceDecision {
  const now = input.now.getTime();
  const at = input.now.toISOString();
  const holes: Cidr[] = input.exclude.flatMap((text) => {
    const parsed = parseCidr(text);
    return parsed.ok ? [parsed.cidr] : [];
  });
  const entries: Record<string, AbsenceRecord> = {};
  const keepRecent = (record: AbsenceRecord): AbsenceRecord => ({ ...record, events: record.events.filter((e) => now - Date.parse(e.at) < DAY_MS) });

  for (const [key, sources] of input.desired) {
    const previous = input.state.entries[key];
    const events = previous?.events ?? [];
    entries[key] = keepRecent({ sources: [...sources], events: previous?.firstAbsent ? [...events, { at, kind: "back" }] : events });
  }

  const pending = new Map<string, string>();
  const removeNow: GraceDecision["removeNow"] = new Map();
  for (const key of input.liveOwned) {
    if (input.desired.has(key)) continue;
    const previous = input.state.entries[key];
    const parsed = parseCidr(key, { lenient: true });
    const excluded = parsed.ok && holes.some((hole) => overlaps(hole, parsed.cidr));
    const sourceGone = previous?.sources !== undefined && previous.sources.length > 0 && previous.sources.every((s) => !input.configSources.has(s));
    const firstAbsent = previous?.firstAbsent ?? at;
    const events = previous?.firstAbsent ? previous.events : [...(previous?.events ?? []), { at, kind: "gone" as const }];
    const record = keepRecent({ ...(previous?.sources ? { sources: previous.sources } : {}), firstAbsent, events });
    if (excluded) removeNow.set(key, "excluded");
    else if (sourceGone) removeNow.set(key, "source removed from config");
    else if (input.noGrace || input.removeAfterMs === 0) removeNow.set(key, "grace disabled");
    else if (now - Date.parse(firstAbsent) >= input.removeAfterMs) removeNow.set(key, "grace expired");
    else pending.set(key, new Date(Date.parse(firstAbsent) + input.removeAfterMs).toISOString());
    // Removed entries keep only their history, for the flap count.
    entries[key] = removeNow.has(key) ? { events: record.events } : record;
  }

  for (const [key, previous] of Object.entries(input.state.entries)) {
    if (entries[key]) continue;
    const recent = keepRecent({ events: previous.events });
    if (recent.events.length > 0) entries[key] = recent;
  }

  const flaps = Object.fromEntries(
    Object.entries(entries)
      .map(([key, record]) => [key, record.events.length] as const)
      .filter(([, count]) => count > 0),
  );
  return { pending, removeNow, nextState: { version: 1, map: input.state.map, entries }, flaps };
}
