import { breadthViolation } from "../model/breadth.js";
import { type Cidr, overlaps, parseCidr, subtract } from "../model/cidr.js";
import { compareCidrs, digestOf } from "../model/entries.js";
import { reservedRange } from "../model/reserved.js";
import type { DesiredEntry, DesiredSet, Rejection } from "../model/desired.js";
import type { SourceResult } from "./types.js";

export interface DesiredRules {
  exclude: string[];
  minPrefixV4: number;
  minPrefixV6: number;
  allowReserved: boolean;
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
      // Breadth is judged on the value as published: exclude cutting a too-broad range into pieces must not let it through.
      const broad = breadthViolation(parsed.cidr, rules);
      if (broad) {
        const readAs = raw.value.includes(":") && parsed.cidr.family === 4 ? ` (read as ${parsed.cidr.text}: IPv4-mapped IPv6 admits IPv4 clients)` : "";
        rejected.push({ source: raw.provenance.source, value: raw.value, reason: `${broad}${readAs}` });
        continue;
      }
      let pieces: Cidr[] = [parsed.cidr];
      for (const hole of holes) {
        if (!pieces.some((piece) => overlaps(piece, hole))) continue;
        excluded.push({ entry: parsed.cidr.text, by: hole.text });
        pieces = pieces.flatMap((piece) => subtract(piece, hole));
      }
      // A reserved range the operator excluded is no error; one rejection per value, however many pieces touch it.
      const reserved = rules.allowReserved ? undefined : pieces.map(reservedRange).find((range) => range !== undefined);
      if (reserved) {
        rejected.push({ source: raw.provenance.source, value: raw.value, reason: `reserved range: ${reserved} (guards.allowReserved is false)` });
        continue;
      }
      for (const cidr of pieces) {
        const existing = merged.get(cidr.text);
        if (existing) existing.provenance.push(raw.provenance);
        else merged.set(cidr.text, { cidr, provenance: [raw.provenance] });
      }
    }
  }
  const entries = sortedEntries([...merged.values()]);
  return { entries, rejected, excluded, digest: digestOf(entries.map((e) => e.cidr.text)) };
}
