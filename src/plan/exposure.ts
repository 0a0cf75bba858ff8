import { admittedSpan, broadest, breadthViolation, spanOf, spanText } from "../model/breadth.js";
import { canonicalKey, type Cidr, contains, ipv4Admitted, parseCidr } from "../model/cidr.js";
import type { MatchAnswer } from "../model/list.js";
import type { Exposure } from "../model/result.js";
import { isOwned, type Ownership } from "./plan.js";

/** An address to put to HAProxy's matcher, and why it should be denied. */
export interface Probe {
  address: string;
  reason: "excluded" | "removed";
}

/**
 * At most this many removed entries are put to the matcher per instance and
 * run, so that a 100,000-entry churn costs milliseconds; excluded ranges are
 * always checked in full.
 */
export const REMOVED_PROBE_LIMIT = 2000;

/** Ranges whose insides are looked for among the live entries; each costs a pass over them. */
const RANGE_LIMIT = 16;

const single = (cidr: Cidr) => cidr.prefix === (cidr.family === 4 ? 32 : 128);

function formatAddress(family: 4 | 6, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  const parsed = parseCidr(groups.join(":"));
  return parsed.ok ? parsed.cidr.text.slice(0, parsed.cidr.text.indexOf("/")) : groups.join(":");
}

/** The first address of a range. */
export function firstAddress(cidr: Cidr): string {
  return formatAddress(cidr.family, cidr.network);
}

function lastAddress(cidr: Cidr): string {
  const bits = cidr.family === 4 ? 32 : 128;
  return formatAddress(cidr.family, cidr.network | ((1n << BigInt(bits - cidr.prefix)) - 1n));
}

/**
 * What to ask HAProxy after an apply or in `status`: both ends of every
 * excluded range, then the first address of each removed entry, in the
 * order given (most important first), up to `limit`. A live entry that lies
 * inside an excluded or removed range (another team's /26 inside a removed
 * /24) is asked about too: the ends of the range alone would miss it. Which
 * addresses to ask is chosen here; whether they get in is HAProxy's answer.
 */
export function exposureProbes(
  exclude: ReadonlyArray<string>,
  removed: ReadonlyArray<string>,
  live: ReadonlyArray<{ key: string }> = [],
  limit = REMOVED_PROBE_LIMIT,
): { probes: Probe[]; skipped: number } {
  const seen = new Set<string>();
  const probes: Probe[] = [];
  const push = (address: string, reason: Probe["reason"]) => {
    if (seen.has(address)) return;
    seen.add(address);
    probes.push({ address, reason });
  };
  for (const text of exclude) {
    const parsed = parseCidr(text);
    if (!parsed.ok) continue;
    push(firstAddress(parsed.cidr), "excluded");
    push(lastAddress(parsed.cidr), "excluded");
  }
  const ranges: Array<{ cidr: Cidr; reason: Probe["reason"] }> = [];
  for (const text of exclude) {
    const parsed = parseCidr(text);
    if (parsed.ok && !single(parsed.cidr)) ranges.push({ cidr: parsed.cidr, reason: "excluded" });
  }
  let taken = 0;
  let skipped = 0;
  for (const text of removed) {
    if (taken >= limit) {
      skipped++;
      continue;
    }
    const parsed = parseCidr(text, { lenient: true });
    if (!parsed.ok) continue;
    taken++;
    push(firstAddress(parsed.cidr), "removed");
    if (!single(parsed.cidr) && ranges.length < RANGE_LIMIT) ranges.push({ cidr: parsed.cidr, reason: "removed" });
  }
  if (ranges.length > 0) {
    for (const entry of live) {
      const parsed = parseCidr(entry.key, { lenient: true });
      if (!parsed.ok) continue;
      const inside = ranges.find((r) => parsed.cidr.prefix > r.cidr.prefix && contains(r.cidr, parsed.cidr));
      if (inside) push(firstAddress(parsed.cidr), inside.reason);
    }
  }
  return { probes, skipped };
}

/**
 * HAProxy's answers, judged: an excluded address admitted by anything, or a
 * removed address admitted by anything but this tool's own desired or
 * pending entries, is exposed.
 */
export function judgeProbes(
  probes: ReadonlyArray<Probe>,
  answers: ReadonlyArray<MatchAnswer>,
  context: { ownership: Ownership; settled: ReadonlySet<string> },
): Exposure[] {
  const exposures: Exposure[] = [];
  probes.forEach((probe, i) => {
    const answer = answers[i];
    if (!answer?.found || answer.key === null) return;
    const owned = isOwned(answer.value === null ? {} : { value: answer.value }, context.ownership);
    if (probe.reason === "removed" && owned && context.settled.has(canonicalKey(answer.key))) return;
    const entry = canonicalKey(answer.key);
    exposures.push({
      address: probe.address,
      entry,
      ...(entry === answer.key ? {} : { key: answer.key }),
      value: answer.value,
      owner: owned ? "self" : "foreign",
      reason: probe.reason,
    });
  });
  return exposures;
}

/**
 * Most live keys are IPv4 with a numeric prefix: their prefix is read from
 * the text alone, which keeps a 100,000-entry list cheap. Undefined for
 * anything else, which is parsed.
 */
function ipv4TextPrefix(key: string): number | undefined {
  if (key.includes(":")) return undefined;
  const slash = key.indexOf("/");
  if (slash === -1) return 32;
  const prefix = key.slice(slash + 1);
  return /^\d{1,2}$/.test(prefix) && Number(prefix) <= 32 ? Number(prefix) : undefined;
}

/** What live entries are judged against: the prefix guards each, and maxAddresses all together. */
export interface LiveBreadthRules {
  minPrefixV4: number;
  minPrefixV6: number;
  maxAddresses: number;
}

/**
 * Live entries, owned or foreign, broader than the prefix guards allow (IPv6
 * judged also by the IPv4 clients it admits), and, when the other entries,
 * each narrow enough on its own, together admit more than maxAddresses, the
 * broadest of them, with the total and the next broadest in its `detail`.
 * An entry too broad on its own is flagged already, so it is not counted
 * again: whenever the whole list admits more than maxAddresses, something is
 * flagged.
 */
export function tooBroadEntries(live: ReadonlyArray<{ key: string; value?: string }>, rules: LiveBreadthRules, ownership: Ownership): Exposure[] {
  const exposures: Exposure[] = [];
  const flagged = new Set<{ key: string }>();
  // The sum of the entries' spans bounds their union from above: within maxAddresses, the union need not be counted.
  let bound = 0;
  for (const entry of live) {
    const prefix = ipv4TextPrefix(entry.key);
    if (prefix !== undefined && prefix >= rules.minPrefixV4) {
      bound += 2 ** (32 - prefix);
      continue;
    }
    const parsed = parseCidr(entry.key, { lenient: true });
    if (parsed.ok && breadthViolation(parsed.cidr, rules) !== undefined) {
      exposures.push(tooBroadExposure(entry, parsed.cidr, ownership));
      flagged.add(entry);
    } else {
      bound += prefix === undefined ? Infinity : 2 ** (32 - prefix);
    }
  }
  const combined =
    bound > rules.maxAddresses
      ? combinedBreadth(
          live.filter((entry) => !flagged.has(entry)),
          rules.maxAddresses,
          ownership,
        )
      : undefined;
  return combined ? [...exposures, combined] : exposures;
}

function tooBroadExposure(entry: { key: string; value?: string }, cidr: Cidr, ownership: Ownership): Exposure {
  return {
    address: firstAddress(ipv4Admitted(cidr) ?? cidr),
    entry: cidr.text,
    ...(cidr.text === entry.key ? {} : { key: entry.key }),
    value: entry.value ?? null,
    owner: isOwned(entry, ownership) ? "self" : "foreign",
    reason: "too-broad",
  };
}

/** Broadest entries named in a combined-breadth exposure. */
const BROADEST_SHOWN = 5;

/** The broadest of these live entries as an exposure when together they admit more than maxAddresses. */
function combinedBreadth(live: ReadonlyArray<{ key: string; value?: string }>, maxAddresses: number, ownership: Ownership): Exposure | undefined {
  const parsed = live.flatMap((entry) => {
    const result = parseCidr(entry.key, { lenient: true });
    return result.ok ? [{ entry, cidr: result.cidr }] : [];
  });
  const cidrs = parsed.map((p) => p.cidr);
  const span = admittedSpan(cidrs);
  if (span.total <= BigInt(maxAddresses)) return undefined;
  const widest = broadest(cidrs, BROADEST_SHOWN);
  const first = parsed.find((p) => p.cidr === widest[0]);
  if (!first) return undefined;
  const named = widest.map((cidr) => `${cidr.text} (${spanOf(cidr)})`).join(", ");
  return {
    ...tooBroadExposure(first.entry, first.cidr, ownership),
    detail: `the ${live.length} live entries within the prefix guards together admit ${spanText(span)}, more than ${maxAddresses} (guards.maxAddresses); broadest: ${named}`,
  };
}
