import { createHash } from "node:crypto";
import type { Cidr } from "./cidr.js";

export function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.prefix - b.prefix;
}

/**
 * Identity of a list of entries, hashed in the order given: callers pass a
 * canonical order (the desired set is sorted numerically) or the order a
 * source returned. Sorting 100,000 strings again would cost more than the hash.
 */
export function digestOf(texts: ReadonlyArray<string>): string {
  const hash = createHash("sha256");
  for (const text of texts) hash.update(`${text}\n`);
  return `sha256:${hash.digest("hex")}`;
}
