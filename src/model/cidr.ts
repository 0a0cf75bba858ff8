import IPCIDR from "ip-cidr";

/**
 * Canonical CIDR handling. IPv4 is parsed by hand because it is the hot path
 * (100k entries); IPv6 goes through ip-cidr, which is slower but well tested.
 */
export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** Network address as an unsigned integer (host bits cleared). */
  network: bigint;
  prefix: number;
  /** Canonical text: `a.b.c.d/nn` or lower-case compressed IPv6 `…/nn`. */
  text: string;
}

export type ParseResult = { ok: true; cidr: Cidr } | { ok: false; reason: string };

export interface ParseOptions {
  /**
   * Strict (desired entries): host bits set is an error. Lenient (live keys
   * read back from HAProxy): host bits are cleared, as HAProxy itself does,
   * and dotted netmasks (`10.0.0.0/255.0.0.0`) are accepted.
   */
  lenient?: boolean;
}

const MAX_TEXT = 64;

export function bitsOf(family: Family): number {
  return family === 4 ? 32 : 128;
}

function masksOf(family: Family): ReadonlyArray<bigint> {
  const bits = bitsOf(family);
  const all = (1n << BigInt(bits)) - 1n;
  return Array.from({ length: bits + 1 }, (_, prefix) => (prefix === 0 ? 0n : (all >> BigInt(bits - prefix)) << BigInt(bits - prefix)));
}

// Worked out once: every reserved-range and exclude check asks for masks, and BigInt shifts per call cost more than the rest of validating a large feed.
const MASKS: Readonly<Record<Family, ReadonlyArray<bigint>>> = { 4: masksOf(4), 6: masksOf(6) };

export function maskOf(family: Family, prefix: number): bigint {
  return MASKS[family][prefix] ?? 0n;
}

/** A dotted quad as an unsigned 32-bit number; undefined for anything else, leading zeros included. */
export function parseIpv4Address(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
      if (dots > 3) return undefined;
    } else if (c >= 48 && c <= 57) {
      // A leading zero is ambiguous (octal to some parsers), so it is refused.
      if (digits === 1 && octet === 0) return undefined;
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + octet;
}

function parsePrefix(text: string, max: number): number | undefined {
  if (!/^\d{1,3}$/.test(text)) return undefined;
  if (text.length > 1 && text.startsWith("0")) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

function netmaskToPrefix(mask: number): number | undefined {
  const inverted = ~mask >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return undefined;
  return 32 - Math.log2(inverted + 1);
}

function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * `a.b.c.d/n` as one flat string. Concatenation would keep a longer text as a
 * chain of pieces (some 60 bytes more per entry than the text itself), and a
 * desired set holds hundreds of thousands of these for the whole run.
 */
function ipv4CidrText(network: number, prefix: number): string {
  return [network >>> 24, (network >>> 16) & 255, (network >>> 8) & 255, `${network & 255}/${prefix}`].join(".");
}

function parseIpv4(addressText: string, prefixText: string | undefined, options: ParseOptions): ParseResult {
  const address = parseIpv4Address(addressText);
  if (address === undefined) return { ok: false, reason: "not an IPv4 address" };
  let prefix = 32;
  if (prefixText !== undefined) {
    const numeric = parsePrefix(prefixText, 32);
    if (numeric !== undefined) {
      prefix = numeric;
    } else {
      const mask = options.lenient ? parseIpv4Address(prefixText) : undefined;
      const fromMask = mask === undefined ? undefined : netmaskToPrefix(mask);
      if (fromMask === undefined) return { ok: false, reason: "prefix length must be 0 to 32" };
      prefix = fromMask;
    }
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (address & mask) >>> 0;
  if (network !== address && !options.lenient) {
    return { ok: false, reason: `host bits set (network is ${formatIpv4(network)}/${prefix})` };
  }
  return { ok: true, cidr: { family: 4, network: BigInt(network), prefix, text: ipv4CidrText(network, prefix) } };
}

/**
 * `::ffff:0:0/96`, the IPv4-mapped space. HAProxy looks IPv4 clients up in it
 * too, so an IPv6 range touching it admits IPv4 clients.
 */
export const IPV4_MAPPED: Cidr = { family: 6, network: 0xffff_0000_0000n, prefix: 96, text: "::ffff:0:0/96" };

const MAPPED_HIGH = IPV4_MAPPED.network >> 32n;

function mappedToIpv4(network: bigint, prefix: number): Cidr {
  const v4 = Number(network & 0xffff_ffffn);
  return { family: 4, network: BigInt(v4), prefix: prefix - 96, text: ipv4CidrText(v4, prefix - 96) };
}

/**
 * Rewrites a dotted-quad tail (`::ffff:1.2.3.4`) as two hex groups, so that
 * ip-cidr only ever sees plain hex; undefined when the tail is no IPv4 address.
 */
function withoutDottedTail(addressText: string): string | undefined {
  const colon = addressText.lastIndexOf(":");
  if (colon === -1) return undefined;
  const tail = parseIpv4Address(addressText.slice(colon + 1));
  if (tail === undefined) return undefined;
  return `${addressText.slice(0, colon + 1)}${(tail >>> 16).toString(16)}:${(tail & 0xffff).toString(16)}`;
}

function parseIpv6(addressText: string, prefixText: string | undefined, options: ParseOptions): ParseResult {
  const hexText = addressText.includes(".") ? withoutDottedTail(addressText) : addressText;
  // Zone ids and anything else exotic are refused outright.
  if (hexText === undefined || !/^[0-9a-fA-F:]+$/.test(hexText) || !hexText.includes(":")) {
    return { ok: false, reason: "not an IPv6 address" };
  }
  let prefix = 128;
  if (prefixText !== undefined) {
    const numeric = parsePrefix(prefixText, 128);
    if (numeric === undefined) return { ok: false, reason: "prefix length must be 0 to 128" };
    prefix = numeric;
  }
  let parsed: IPCIDR;
  try {
    parsed = new IPCIDR(`${hexText}/${prefix}`);
  } catch {
    return { ok: false, reason: "not an IPv6 address" };
  }
  // ip-address ships no types for its BigInteger; its text form is all that is needed.
  const address = BigInt(`0x${(parsed.address.bigInteger() as { toString(radix: number): string }).toString(16)}`);
  const network = address & maskOf(6, prefix);
  // One range, one key: the mapped spelling and the IPv4 one admit the same clients.
  const mapped = prefix >= 96 && address >> 32n === MAPPED_HIGH ? mappedToIpv4(network, prefix) : undefined;
  if (network !== address && !options.lenient) {
    const networkText = mapped ? mapped.text : `${(parsed.start({ type: "addressObject" }) as { correctForm(): string }).correctForm()}/${prefix}`;
    return { ok: false, reason: `host bits set (network is ${networkText})` };
  }
  if (mapped) return { ok: true, cidr: mapped };
  const start = parsed.start({ type: "addressObject" }) as { correctForm(): string };
  return { ok: true, cidr: { family: 6, network, prefix, text: `${start.correctForm()}/${prefix}` } };
}

/** Parses an address or CIDR into canonical form; never throws. */
export function parseCidr(input: string, options: ParseOptions = {}): ParseResult {
  if (typeof input !== "string" || input.length === 0) return { ok: false, reason: "empty value" };
  if (input.length > MAX_TEXT) return { ok: false, reason: "too long to be an address" };
  const slash = input.indexOf("/");
  const addressText = slash === -1 ? input : input.slice(0, slash);
  const prefixText = slash === -1 ? undefined : input.slice(slash + 1);
  return input.includes(":") ? parseIpv6(addressText, prefixText, options) : parseIpv4(addressText, prefixText, options);
}

export function canonicalise(input: string, options: ParseOptions = {}): string | undefined {
  const result = parseCidr(input, options);
  return result.ok ? result.cidr.text : undefined;
}

/** True when `outer` contains every address of `inner`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  return (inner.network & maskOf(outer.family, outer.prefix)) === outer.network;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return contains(a, b) || contains(b, a);
}

/** Canonical, so a piece inside the mapped space comes back as IPv4. */
function cidrFrom(family: Family, network: bigint, prefix: number): Cidr {
  if (family === 4) return { family, network, prefix, text: ipv4CidrText(Number(network), prefix) };
  return (parseCidr(`${formatIpv6Full(network)}/${prefix}`) as { ok: true; cidr: Cidr }).cidr;
}

function formatIpv6Full(value: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(":");
}

/**
 * The IPv4 clients HAProxy admits through an entry: an IPv6 range covering
 * the mapped space admits them all. Undefined when it admits none.
 */
export function ipv4Admitted(cidr: Cidr): Cidr | undefined {
  if (cidr.family === 4) return cidr;
  if (cidr.prefix <= IPV4_MAPPED.prefix) return contains(cidr, IPV4_MAPPED) ? mappedToIpv4(IPV4_MAPPED.network, IPV4_MAPPED.prefix) : undefined;
  return cidr.network >> 32n === MAPPED_HIGH ? mappedToIpv4(cidr.network, cidr.prefix) : undefined;
}

/**
 * `range` minus `hole`, as the fewest CIDRs: used when an excluded address
 * lies inside a wider published range.
 */
export function subtract(range: Cidr, hole: Cidr): Cidr[] {
  if (!overlaps(range, hole)) return [range];
  if (contains(hole, range)) return [];
  const result: Cidr[] = [];
  const width = bitsOf(range.family);
  for (let prefix = range.prefix + 1; prefix <= hole.prefix; prefix++) {
    const bit = 1n << BigInt(width - prefix);
    const holeSide = hole.network & maskOf(range.family, prefix);
    result.push(cidrFrom(range.family, holeSide ^ bit, prefix));
  }
  return result;
}

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4_TEXT = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}(?:\\/(?:3[0-2]|[12]?\\d))?$`);
const ADDRESS_CHARACTERS = /^[0-9A-Fa-f.:/]+$/;

/**
 * True when the text is an address or CIDR in a spelling HAProxy reads (host
 * bits and netmasks allowed) and made of address characters only. Dotted
 * quads, the bulk of any list, are checked by pattern; the rest is parsed.
 */
export function isAddressText(text: string): boolean {
  return IPV4_TEXT.test(text) || (ADDRESS_CHARACTERS.test(text) && parseCidr(text, { lenient: true }).ok);
}

/** A live key as the canonical CIDR it stands for, or as HAProxy holds it when it is none (so it is still compared, never dropped). */
export function canonicalKey(key: string): string {
  const parsed = parseCidr(key, { lenient: true });
  return parsed.ok ? parsed.cidr.text : key;
}
