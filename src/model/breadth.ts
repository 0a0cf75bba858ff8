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
