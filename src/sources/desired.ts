import { setImmediate as nextTurn } from "node:timers/promises";
import { breadthViolation } from "../model/breadth.js";
import { type Cidr, overlaps, parseCidr, subtract } from "../model/cidr.js";
import { compareCidrs, digestOf } from "../model/entries.js";
import type { Provenance } from "../model/provenance.js";
import { reservedRange } from "../model/reserved.js";
import type { DesiredEntry, DesiredSet, Rejection } from "../model/desired.js";
import type { SourceResult } from "./types.js";

export interface DesiredRules {
  exclude: string[];
  minPrefixV4: number;
  minPrefixV6: number;
  allowReserved: boolean;
}

/**
 * Values judged between two turns of the event loop: a 5 MB feed holds some
 * 370,000, and judging them in one go would keep `runTimeout`'s timer from
 * firing for seconds; a turn per value would make a large sync slower.
 */
const VALUES_PER_TURN = 8192;

/** The set as it is merged: one entry per canonical text. */
interface Merging {
  rules: DesiredRules;
  holes: Cidr[];
  merged: Map<string, DesiredEntry>;
  /** One provenance list per origin, shared by every entry that has only that origin. */
  lists: Map<Provenance, ReadonlyArray<Provenance>>;
  rejected: Rejection[];
  excluded: DesiredSet["excluded"];
}

/** Where `key` is in the ascending `sorted`, which holds it. */
function positionOf(sorted: Float64Array, key: number): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] ?? Infinity) < key) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Numeric order, IPv4 first. IPv4 entries are sorted on plain numbers (much
 * faster than comparing bigints) without an object per entry: their keys are
 * unique (one entry per canonical text), so the keys are sorted natively and
 * each entry is put where its key landed.
 */
function sortedEntries(entries: DesiredEntry[]): DesiredEntry[] {
  const v4 = entries.filter((e) => e.cidr.family === 4);
  const keys = Float64Array.from(v4, (e) => Number(e.cidr.network) * 64 + e.cidr.prefix);
  const sortedKeys = keys.slice().sort();
  const sorted = new Array<DesiredEntry>(v4.length);
  v4.forEach((entry, i) => {
    sorted[positionOf(sortedKeys, keys[i] ?? 0)] = entry;
  });
  for (const entry of entries.filter((e) => e.cidr.family === 6).sort((a, b) => compareCidrs(a.cidr, b.cidr))) sorted.push(entry);
  return sorted;
}

/** Adds one value's pieces to the set, or records why it is refused or what `exclude` took from it. */
function admit(value: string, provenance: Provenance, into: Merging): void {
  const { rules, rejected } = into;
  const parsed = parseCidr(value);
  if (!parsed.ok) {
    rejected.push({ source: provenance.source, value, reason: parsed.reason });
    return;
  }
  // Breadth is judged on the value as published: exclude cutting a too-broad range into pieces must not let it through.
  const broad = breadthViolation(parsed.cidr, rules);
  if (broad) {
    const readAs = value.includes(":") && parsed.cidr.family === 4 ? ` (read as ${parsed.cidr.text}: IPv4-mapped IPv6 admits IPv4 clients)` : "";
    rejected.push({ source: provenance.source, value, reason: `${broad}${readAs}` });
    return;
  }
  const pieces = into.holes.some((hole) => overlaps(parsed.cidr, hole)) ? excludedFrom(parsed.cidr, into) : [parsed.cidr];
  // A reserved range the operator excluded is no error; one rejection per value, however many pieces touch it.
  const reserved = rules.allowReserved ? undefined : firstReserved(pieces);
  if (reserved) {
    rejected.push({ source: provenance.source, value, reason: `reserved range: ${reserved} (guards.allowReserved is false)` });
    return;
  }
  for (const cidr of pieces) merge(cidr, provenance, into);
}

/** What is left of a value that `exclude` cuts into, each cut recorded. */
function excludedFrom(cidr: Cidr, into: Merging): Cidr[] {
  let pieces = [cidr];
  for (const hole of into.holes) {
    if (!pieces.some((piece) => overlaps(piece, hole))) continue;
    into.excluded.push({ entry: cidr.text, by: hole.text });
    pieces = pieces.flatMap((piece) => subtract(piece, hole));
  }
  return pieces;
}

function firstReserved(pieces: ReadonlyArray<Cidr>): string | undefined {
  for (const piece of pieces) {
    const range = reservedRange(piece);
    if (range !== undefined) return range;
  }
  return undefined;
}

function merge(cidr: Cidr, provenance: Provenance, into: Merging): void {
  const existing = into.merged.get(cidr.text);
  if (existing) {
    into.merged.set(cidr.text, { cidr: existing.cidr, provenance: [...existing.provenance, provenance] });
    return;
  }
  let list = into.lists.get(provenance);
  if (!list) {
    list = [provenance];
    into.lists.set(provenance, list);
  }
  into.merged.set(cidr.text, { cidr, provenance: list });
}

/**
 * The union of all sources, minus `exclude`, each entry canonical and
 * validated. The same inputs always give the same set and digest; it yields
 * to the event loop now and then, so a large feed cannot hold up the run's
 * deadline.
 */
export async function buildDesiredSet(results: SourceResult[], rules: DesiredRules): Promise<DesiredSet> {
  const holes = rules.exclude.flatMap((text) => {
    const parsed = parseCidr(text);
    return parsed.ok ? [parsed.cidr] : [];
  });
  const merging: Merging = { rules, holes, merged: new Map(), lists: new Map(), rejected: [], excluded: [] };
  let judged = 0;
  for (const { provenance, values } of results.flatMap((result) => result.published)) {
    for (const value of values) {
      admit(value, provenance, merging);
      if (++judged % VALUES_PER_TURN === 0) await nextTurn();
    }
  }
  await nextTurn();
  const entries = sortedEntries([...merging.merged.values()]);
  await nextTurn();
  return { entries, rejected: merging.rejected, excluded: merging.excluded, digest: digestOf(entries.map((e) => e.cidr.text)) };
}
