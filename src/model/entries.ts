import { createHash } from "node:crypto";
import type { Cidr } from "./cidr.js";

export function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.prefix - b.prefix;
}

const DIGEST_BATCH = 4096;

/**
 * Identity of a list of entries, hashed in the order given: callers pass a
 * canonical order (the desired set is sorted numerically) or the order a
 * source returned. Sorting 100,000 strings again would cost more than the hash.
 */
export function digestOf(texts: ReadonlyArray<string>): string {
  const hash = createHash("sha256");
  // The same bytes as one update per text, in a few thousand updates instead of one per entry.
  for (let start = 0; start < texts.length; start += DIGEST_BATCH) {
    hash.update(`${texts.slice(start, start + DIGEST_BATCH).join("\n")}\n`);
  }
  return `sha256:${hash.digest("hex")}`;
}

/**
 * Identity of what a source returned, whatever order it came in: DNS servers
 * rotate their answers, and a digest that changes with them says nothing.
 */
export function digestOfUnordered(texts: ReadonlyArray<string>): string {
  return digestOf([...texts].sort());
}

/** The first few entries of a list for a message: `a, b, c, … (+20 more)`. */
export function firstEntries(entries: ReadonlyArray<string>, shown = 5): string {
  const head = entries.slice(0, shown).join(", ");
  return entries.length > shown ? `${head}, … (+${entries.length - shown} more)` : head;
}
