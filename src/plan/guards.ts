import { admittedSpan, broadest, spanOf, spanText } from "../model/breadth.js";
import { contains, parseCidr, type Cidr } from "../model/cidr.js";
import { firstEntries } from "../model/entries.js";
import type { GuardName, GuardSettings, Limit } from "../model/guards.js";
import type { InstancePlan } from "./plan.js";

export interface GuardTrip {
  guard: GuardName;
  message: string;
  /** The instance the trip was seen on, for per-instance guards. */
  target?: string;
  entries: string[];
}

export interface GuardInput {
  desiredCount: number;
  /**
   * The desired set's entries, judged together against maxAddresses. A
   * re-plan after a conflict leaves them out: its desired set is the one the
   * run was judged on already.
   */
  desiredEntries?: ReadonlyArray<Cidr>;
  plans: ReadonlyArray<{ target: string; plan: InstancePlan }>;
  settings: GuardSettings;
  force: boolean;
}

export interface GuardVerdict {
  /** Trips that hold the run, the first one leading. */
  holds: GuardTrip[];
  /** Trips that --force set aside; reported, not enforced. */
  overridden: GuardTrip[];
  /** New entries outside `expected`, whether or not they held the run. */
  unexpected: string[];
}

/**
 * A percent limit is taken of at least this many entries, so that a small
 * owned set is judged too (50% allows 5 additions to a set of 2) rather than
 * let anything through. An empty owned set (a first run) has nothing to
 * compare against: maxAddresses, expected and the prefix guards judge it.
 */
export const PERCENT_FLOOR = 10;
/** Ends every threshold trip's message, for alerts and logs; the text output says it once instead. */
export const ADVICE = "check the Travis IP page, then approve exactly this change: sync --dry-run --plan-out FILE, sync --plan FILE";

/**
 * Never overridable: a too-small desired set is what an upstream failure
 * looks like, and a too-broad one what a broken or hostile source looks
 * like; no approval makes either right.
 */
const HARD_GUARDS: ReadonlySet<GuardName> = new Set(["minEntries", "maxAddresses"]);

/** Broadest entries named in a maxAddresses trip. */
const BROADEST_SHOWN = 5;

function checkLimit(guard: "maxAdditions" | "maxRemovals", entries: string[], owned: number, limit: Limit, where: string): GuardTrip | undefined {
  const count = entries.length;
  if (count === 0) return undefined;
  const share = owned > 0 ? Math.round((count / owned) * 100) : undefined;
  const shareText = share === undefined ? "" : ` (${share}%)`;
  if ("count" in limit) {
    if (count <= limit.count) return undefined;
  } else if (owned === 0 || count <= limit.fraction * Math.max(owned, PERCENT_FLOOR)) {
    return undefined;
  }
  const what = guard === "maxRemovals" ? `would remove ${count} of ${owned} owned entries` : `would add ${count} to ${owned} owned entries`;
  const limitText = "count" in limit ? String(limit.count) : percentText(limit.fraction, owned);
  return {
    guard,
    entries,
    message: `${guard}: ${what}${shareText}${where}, limit ${limitText}: ${firstEntries(entries)}; ${ADVICE}`,
  };
}

function percentText(fraction: number, owned: number): string {
  const percent = `${Math.round(fraction * 10_000) / 100}%`;
  return owned >= PERCENT_FLOOR ? percent : `${percent} of at least ${PERCENT_FLOOR} entries (${Math.floor(fraction * PERCENT_FLOOR)})`;
}

/** More than maxAddresses admitted by the desired set as a whole, however many entries share it. */
function checkBreadth(desired: ReadonlyArray<Cidr>, maxAddresses: number): GuardTrip | undefined {
  const span = admittedSpan(desired);
  if (span.total <= BigInt(maxAddresses)) return undefined;
  const widest = broadest(desired, BROADEST_SHOWN).map((cidr) => `${cidr.text} (${spanOf(cidr)})`);
  return {
    guard: "maxAddresses",
    entries: widest,
    message: `maxAddresses: the ${desired.length} desired entries together admit ${spanText(span)}, more than ${maxAddresses} (guards.maxAddresses); broadest: ${firstEntries(widest)}; a source this broad is broken or not what it claims: check the sources, and raise guards.maxAddresses only if this breadth is meant`,
  };
}

function parsedRanges(texts: ReadonlyArray<string>): Cidr[] {
  return texts.flatMap((t) => {
    const parsed = parseCidr(t);
    return parsed.ok ? [parsed.cidr] : [];
  });
}

/**
 * Runs every guard over the plans of all instances at once. Pure: the
 * reconciler applies nothing anywhere when `holds` is not empty.
 */
export function evaluateGuards(input: GuardInput): GuardVerdict {
  const { settings, plans } = input;
  const trips: GuardTrip[] = [];

  if (input.desiredCount < settings.minEntries) {
    trips.push({
      guard: "minEntries",
      entries: [],
      message: `minEntries: the desired set has ${input.desiredCount} entries, fewer than ${settings.minEntries}; an upstream failure often looks like this, check the sources`,
    });
  }
  const breadth = input.desiredEntries && checkBreadth(input.desiredEntries, settings.maxAddresses);
  if (breadth) trips.push(breadth);

  const unexpected = new Set<string>();
  if (settings.expected) {
    const ranges = parsedRanges(settings.expected);
    for (const { plan } of plans) {
      for (const text of plan.add) {
        const parsed = parseCidr(text);
        if (parsed.ok && !ranges.some((range) => contains(range, parsed.cidr))) unexpected.add(text);
      }
    }
    if (unexpected.size > 0) {
      const list = [...unexpected];
      trips.push({
        guard: "expected",
        entries: list,
        message: `expected: ${list.length} new entries outside the expected ranges (${settings.expected.join(", ")}): ${firstEntries(list)}; add them to guards.expected or ${ADVICE}`,
      });
    }
  }

  for (const { target, plan } of plans) {
    const where = plans.length > 1 ? ` on ${target}` : "";
    for (const trip of [
      checkLimit("maxRemovals", plan.remove, plan.ownedCount, settings.maxRemovals, where),
      checkLimit("maxAdditions", plan.add, plan.ownedCount, settings.maxAdditions, where),
    ]) {
      if (trip) trips.push({ ...trip, target });
    }
  }

  const holds = trips.filter((t) => !input.force || HARD_GUARDS.has(t.guard));
  const overridden = trips.filter((t) => input.force && !HARD_GUARDS.has(t.guard));
  return { holds, overridden, unexpected: [...unexpected] };
}
