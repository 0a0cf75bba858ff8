import { breadthViolation } from "../model/breadth.js";
import { type Cidr, overlaps, parseCidr, subtract } from "../model/cidr.js";
import { compareCidrs, digestOf } from "../model/entries.js";
import { reservedRange } from "../model/reserved.js";
import type { DesiredEntry, DesiredSet, Rejection } from "../model/desired.js";
import type { SourceResult } from "./types.js";

export type { DesiredEntry, DesiredSet, Rejection } from "../model/desired.js";

export interface DesiredRules {
  exclude: string[];
  minPrefixV4: number;
  minPrefixV6: number;
  allowReserved: boolean;
}

function validate(cidr: Cidr, rules: DesiredRules): string | undefined {
  const broad = breadthViolation(cidr, rules);
  if (broad) return broad;
  if (!rules.allowReserved) {
    const range = reservedRange(cidr);
    if (range) return `reserved range: ${range} (guards.allowReserved is false)`;
  }
  return undefined;
}

/** Numeric order, IPv4 first; IPv4 sorts on plain numbers, which is much faster than comparing bigints. */
function sortedEntries(entries: DesiredEntry[]): DesiredEntry[] {
  const v4 = entries
    .filter((e) => e.cidr.family === 4)
    .map((e) => ({ e, k: Number(e.cidr.network) * 64 + e.cidr.prefix }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.e);
  const v6 = entries.filter((e) => e.cidr.family === 6).sort((a, b) => compareCidrs(a.cidr, b.cidr));
  return [...v4, ...v6];
}

/**
 * The union of all sources, minus `exclude`, each entry canonical and
 * validated. Pure: the same inputs always give the same set and digest.
 */
export function buildDesiredSet(results: SourceResult[], rules: DesiredRules): DesiredSet {
  const holes = rules.exclude.flatMap((text) => {
    const parsed = parseCidr(text);
    return parsed.ok ? [parsed.cidr] : [];
  });
  const merged = new Map<string, DesiredEntry>();
  const rejected: Rejection[] = [];
  const excluded: DesiredSet["excluded"] = [];

  for (const result of results) {
    for (const raw of result.entries) {
      const parsed = parseCidr(raw.value);
      if (!parsed.ok) {
        rejected.push({ source: raw.provenance.source, value: raw.value, reason: parsed.reason });
        continue;
      }
      let pieces: Cidr[] = [parsed.cidr];
      for (const hole of holes) {
        if (!pieces.some((piece) => overlaps(piece, hole))) continue;
        excluded.push({ entry: parsed.cidr.text, by: hole.text });
        pieces = pieces.flatMap((piece) => subtract(piece, hole));
      }
      for (const cidr of pieces) {
        const reason = validate(cidr, rules);
        if (reason) {
          rejected.push({ source: raw.provenance.source, value: raw.value, reason });
          continue;
        }
        const existing = merged.get(cidr.text);
        if (existing) existing.provenance.push(raw.provenance);
        else merged.set(cidr.text, { cidr, provenance: [raw.provenance] });
      }
    }
  }
  const entries = sortedEntries([...merged.values()]);
  return { entries, rejected, excluded, digest: digestOf(entries.map((e) => e.cidr.text)) };
}
