import { type Cidr, IPV4_MAPPED, ipv4Admitted } from "./cidr.js";

export interface BreadthRules {
  minPrefixV4: number;
  minPrefixV6: number;
}

function ipv4Violation(cidr: Cidr, minPrefixV4: number): string | undefined {
  return cidr.prefix < minPrefixV4 ? `broader than /${minPrefixV4} (guards.minPrefixV4)` : undefined;
}

/**
 * Why an entry is too broad to allow, or undefined. An IPv6 entry is judged
 * on the IPv4 clients it admits as well: HAProxy matches them through the
 * IPv4-mapped space, so `::/32` opens the door as wide as `0.0.0.0/0`.
 */
export function breadthViolation(cidr: Cidr, rules: BreadthRules): string | undefined {
  if (cidr.family === 4) return ipv4Violation(cidr, rules.minPrefixV4);
  const reasons: string[] = [];
  // Said first: the IPv6 prefix alone does not show that IPv4 clients are let in.
  const admitted = ipv4Admitted(cidr);
  const throughMapped = admitted && ipv4Violation(admitted, rules.minPrefixV4);
  if (admitted && throughMapped) {
    const who = admitted.prefix === 0 ? "every IPv4 client as 0.0.0.0/0" : `IPv4 clients in ${admitted.text}`;
    reasons.push(`admits ${who} through IPv4-mapped IPv6 (${IPV4_MAPPED.text}); ${throughMapped}`);
  }
  if (cidr.prefix < rules.minPrefixV6) reasons.push(`broader than /${rules.minPrefixV6} (guards.minPrefixV6)`);
  return reasons.length > 0 ? reasons.join("; ") : undefined;
}

/**
 * How much a set of entries admits together, overlaps counted once: IPv4
 * addresses, and IPv6 in /64 networks (one /64 is one subscriber, however
 * many addresses it holds). An IPv6 range over the IPv4-mapped space counts
 * the IPv4 clients it admits as well. `total` is the two added together,
 * which is what `guards.maxAddresses` limits.
 */
export interface AdmittedSpan {
  ipv4: bigint;
  ipv6Networks: bigint;
  total: bigint;
}

/** One entry's span alone: IPv4 addresses, or IPv6 /64 networks. */
export function spanOf(cidr: Cidr): bigint {
  if (cidr.family === 4) return 1n << BigInt(32 - cidr.prefix);
  return cidr.prefix >= 64 ? 1n : 1n << BigInt(64 - cidr.prefix);
}

/** One entry's contribution to `total`: an IPv6 range over the mapped space adds the IPv4 clients it admits. */
function entrySpan(cidr: Cidr): bigint {
  const mapped = cidr.family === 6 ? ipv4Admitted(cidr) : undefined;
  return spanOf(cidr) + (mapped ? spanOf(mapped) : 0n);
}

/** The length of the union of half-open intervals (IPv6, in /64 networks). */
function unionLength(intervals: Array<[bigint, bigint]>): bigint {
  intervals.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let total = 0n;
  let end = -1n;
  for (const [start, stop] of intervals) {
    if (stop <= end) continue;
    total += stop - (start > end ? start : end);
    end = stop;
  }
  return total;
}

/**
 * The number of IPv4 addresses in the union of ranges, each packed as
 * `network * 64 + prefix` (exact in a double): a typed array sorts natively,
 * which keeps a 100,000-entry set to a few milliseconds.
 */
function ipv4UnionLength(packed: Float64Array): bigint {
  packed.sort();
  let total = 0;
  let end = -1;
  for (const key of packed) {
    const prefix = key % 64;
    const start = (key - prefix) / 64;
    const stop = start + 2 ** (32 - prefix);
    if (stop <= end) continue;
    total += stop - Math.max(start, end);
    end = stop;
  }
  return BigInt(total);
}

export function admittedSpan(cidrs: ReadonlyArray<Cidr>): AdmittedSpan {
  const v4 = new Float64Array(cidrs.length * 2);
  let v4Count = 0;
  const v6: Array<[bigint, bigint]> = [];
  for (const cidr of cidrs) {
    const admitted = ipv4Admitted(cidr);
    if (admitted) v4[v4Count++] = Number(admitted.network) * 64 + admitted.prefix;
    if (cidr.family === 6) {
      const network = cidr.network >> 64n;
      v6.push([network, network + spanOf(cidr)]);
    }
  }
  const ipv4 = ipv4UnionLength(v4.subarray(0, v4Count));
  const ipv6Networks = unionLength(v6);
  return { ipv4, ipv6Networks, total: ipv4 + ipv6Networks };
}

/** The span in words: "131072 IPv4 addresses", "… and 3 IPv6 /64 networks". */
export function spanText(span: AdmittedSpan): string {
  const parts = [];
  if (span.ipv4 > 0n || span.ipv6Networks === 0n) parts.push(`${span.ipv4} IPv4 ${span.ipv4 === 1n ? "address" : "addresses"}`);
  if (span.ipv6Networks > 0n) parts.push(`${span.ipv6Networks} IPv6 /64 ${span.ipv6Networks === 1n ? "network" : "networks"}`);
  return parts.join(" and ");
}

/** The `count` entries that admit the most, broadest first (ties in the order given). */
export function broadest(cidrs: ReadonlyArray<Cidr>, count: number): Cidr[] {
  const top: Array<{ cidr: Cidr; span: bigint }> = [];
  for (const cidr of cidrs) {
    const span = entrySpan(cidr);
    const last = top[top.length - 1];
    if (top.length === count && last && span <= last.span) continue;
    const at = top.findIndex((t) => span > t.span);
    top.splice(at === -1 ? top.length : at, 0, { cidr, span });
    if (top.length > count) top.pop();
  }
  return top.map((t) => t.cidr);
}
