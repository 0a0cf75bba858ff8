import { type Cidr, IPV4_MAPPED, overlaps, parseCidr } from "./cidr.js";

/** Special-purpose ranges (IANA registries) that never belong on a CI allowlist. */
const RESERVED: ReadonlyArray<readonly [string, string]> = [
  ["0.0.0.0/8", '"this network"'],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "carrier-grade NAT"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "IETF protocol assignments"],
  ["192.0.2.0/24", "documentation"],
  ["192.88.99.0/24", "6to4 relay"],
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"],
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["64:ff9b::/96", "NAT64"],
  ["100::/64", "discard-only"],
  ["2001::/23", "IETF protocol assignments"],
  ["2001:db8::/32", "documentation"],
  ["3fff::/20", "documentation"],
  ["fc00::/7", "unique local"],
  ["fe80::/10", "link-local"],
  ["ff00::/8", "multicast"],
];

// The mapped space is built by hand: parsing canonicalises it to 0.0.0.0/0.
const RESERVED_CIDRS: ReadonlyArray<{ cidr: Cidr; label: string }> = [
  ...RESERVED.map(([text, label]) => {
    const parsed = parseCidr(text);
    if (!parsed.ok || parsed.cidr.text !== text) throw new Error(`bad reserved range ${text}`);
    return { cidr: parsed.cidr, label };
  }),
  { cidr: IPV4_MAPPED, label: "IPv4-mapped" },
];

/** The reserved range an entry touches, e.g. `loopback (127.0.0.0/8)`, or undefined. */
export function reservedRange(cidr: Cidr): string | undefined {
  for (const { cidr: range, label } of RESERVED_CIDRS) {
    if (overlaps(range, cidr)) return `${label} (${range.text})`;
  }
  return undefined;
}
