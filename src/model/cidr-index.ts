import { type Cidr, ipv4Admitted, parseCidr, parseIpv4Address } from "./cidr.js";

/** An address parsed once, to be asked of many indexes: IPv4 as a 32-bit number, IPv6 as a bigint. */
export type IndexedAddress = { family: 4; value: number; prefix: number } | { family: 6; value: bigint; prefix: number };

const IPV4_MASKS: ReadonlyArray<number> = Array.from({ length: 33 }, (_, prefix) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0));
const IPV6_MASKS: ReadonlyArray<bigint> = Array.from({ length: 129 }, (_, prefix) => ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n));

/** `address` (canonical or not, a bare address or a range) as an index takes it; undefined when it is neither. */
export function indexedAddress(address: string): IndexedAddress | undefined {
  // Nearly every address asked about is a bare IPv4 client: no Cidr, no text, no bigint for it.
  const v4 = parseIpv4Address(address);
  if (v4 !== undefined) return { family: 4, value: v4, prefix: 32 };
  const parsed = parseCidr(address, { lenient: true });
  if (!parsed.ok) return undefined;
  const { family, network, prefix } = parsed.cidr;
  return family === 4 ? { family, value: Number(network), prefix } : { family, value: network, prefix };
}

/** The networks of one family, by prefix length, with the lengths present longest first. */
class ByPrefix<K extends number | bigint, T> {
  private readonly networks = new Map<number, Map<K, T>>();
  private lengths: number[] = [];

  set(prefix: number, network: K, value: T): void {
    let networks = this.networks.get(prefix);
    if (networks === undefined) {
      networks = new Map();
      this.networks.set(prefix, networks);
      this.lengths = [...this.networks.keys()].sort((a, b) => b - a);
    }
    networks.set(network, value);
  }

  narrowest(address: K, prefix: number, masked: (address: K, prefix: number) => K): T | undefined {
    for (const length of this.lengths) {
      if (length > prefix) continue;
      const found = this.networks.get(length)?.get(masked(address, length));
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

const maskedV4 = (address: number, prefix: number): number => (address & (IPV4_MASKS[prefix] as number)) >>> 0;
const maskedV6 = (address: bigint, prefix: number): bigint => address & (IPV6_MASKS[prefix] as bigint);

/**
 * Which of many entries covers an address: one numeric lookup per prefix length
 * the entries use (a handful), never a key built per lookup. Denied clients by
 * the hundred thousand are asked of several indexes each.
 */
export class CidrIndex<T> {
  private readonly v4 = new ByPrefix<number, T>();
  private readonly v6 = new ByPrefix<bigint, T>();

  /** Later entries for the same network replace earlier ones. An IPv6 entry that covers IPv4-mapped space is indexed as the IPv4 range it admits too, as HAProxy matches it. */
  constructor(entries: Iterable<readonly [string, T]>) {
    for (const [text, value] of entries) {
      const parsed = parseCidr(text, { lenient: true });
      if (!parsed.ok) continue;
      this.add(parsed.cidr, value);
      const v4 = ipv4Admitted(parsed.cidr);
      if (v4 && parsed.cidr.family === 6) this.add(v4, value);
    }
  }

  /** The value of the narrowest entry covering `address` (text, canonical or not, or parsed once by indexedAddress), or undefined. */
  covering(address: string | IndexedAddress): T | undefined {
    const parsed = typeof address === "string" ? indexedAddress(address) : address;
    if (parsed === undefined) return undefined;
    return parsed.family === 4 ? this.v4.narrowest(parsed.value, parsed.prefix, maskedV4) : this.v6.narrowest(parsed.value, parsed.prefix, maskedV6);
  }

  private add(cidr: Cidr, value: T): void {
    if (cidr.family === 4) this.v4.set(cidr.prefix, Number(cidr.network), value);
    else this.v6.set(cidr.prefix, cidr.network, value);
  }
}
