import { createHash } from "node:crypto";
import type { Cidr } from "./cidr.js";

export function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.prefix - b.prefix;
}

/** Stable identity of a set of canonical entries, independent of order. */
export function digestOf(texts: Iterable<string>): string {
  const sorted = [...texts].sort();
  return `sha256:${createHash("sha256").update(sorted.join("\n")).digest("hex")}`;
}
