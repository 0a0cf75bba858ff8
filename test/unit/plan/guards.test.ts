import { describe, expect, it } from "vitest";
import { parseLimit } from "../../../src/config/limits.js";
import { type Cidr, parseCidr } from "../../../src/model/cidr.js";
import type { Limit } from "../../../src/model/guards.js";
import { evaluateGuards } from "../../../src/plan/guards.js";
import type { InstancePlan } from "../../../src/plan/plan.js";

/** Guard settings as written in the config; the config layer turns limits into counts and fractions. */
interface Written {
  minEntries: number;
  maxAddresses: number;
  maxAdditions: number | string;
  maxRemovals: number | string;
  expected?: string[];
}

const DEFAULTS: Written = { minEntries: 1, maxAddresses: 65_536, maxAdditions: "50%", maxRemovals: "25%" };
const limit = (value: number | string): Limit => parseLimit(value) as Limit;

function addresses(n: number, third = 0): string[] {
  return Array.from({ length: n }, (_, i) => `104.197.${third}.${i}/32`);
}

function plan(owned: number, add: string[], remove: string[]): InstancePlan {
  return { add, remove, removeEntries: [], rewrite: [], supersede: [], ownedCount: owned, foreignCount: 0, kept: [], content: [] };
}

function cidrs(texts: string[]): Cidr[] {
  return texts.map((text) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) throw new Error(`${text}: ${parsed.reason}`);
    return parsed.cidr;
  });
}

function run(plans: InstancePlan[], settings: Partial<Written> = {}, options: { desiredCount?: number; desired?: string[]; force?: boolean } = {}) {
  const written = { ...DEFAULTS, ...settings };
  return evaluateGuards({
    desiredCount: options.desired?.length ?? options.desiredCount ?? 55,
    ...(options.desired ? { desiredEntries: cidrs(options.desired) } : {}),
    plans: plans.map((p, i) => ({ target: `unix:///run/haproxy/${i}.sock`, plan: p })),
    settings: { ...written, maxAdditions: limit(written.maxAdditions), maxRemovals: limit(written.maxRemovals) },
    force: options.force ?? false,
  });
}

describe("evaluateGuards", () => {
  it.each([
    { name: "no changes", plans: [plan(55, [], [])], settings: {}, held: [] },
    { name: "a first run into an empty map is not held by percent limits", plans: [plan(0, addresses(55), [])], settings: {}, held: [] },
    { name: "a small owned set is judged by percent of 10: 5 additions to 2 pass", plans: [plan(2, addresses(5), [])], settings: {}, held: [] },
    {
      name: "a small owned set is judged by percent of 10: 6 additions to 2 are held",
      plans: [plan(2, addresses(6), [])],
      settings: {},
      held: ["maxAdditions"],
    },
    { name: "a small owned set is judged by percent of 10: 2 removals of 9 pass", plans: [plan(9, [], addresses(2))], settings: {}, held: [] },
    { name: "a small owned set is judged by percent of 10: 3 removals of 9 are held", plans: [plan(9, [], addresses(3))], settings: {}, held: ["maxRemovals"] },
    { name: "from 10 owned entries on, the percent of the set itself", plans: [plan(20, addresses(10), addresses(5))], settings: {}, held: [] },
    {
      name: "a percent limit of 100% lets a small set be replaced",
      plans: [plan(3, addresses(3), addresses(3, 1))],
      settings: { maxAdditions: "100%", maxRemovals: "100%" },
      held: [],
    },
    { name: "a thousand additions to two owned entries are held", plans: [plan(2, addresses(1000), [])], settings: {}, held: ["maxAdditions"] },
    { name: "removals within 25%", plans: [plan(40, [], addresses(10))], settings: {}, held: [] },
    { name: "removals over 25%", plans: [plan(39, [], addresses(23))], settings: {}, held: ["maxRemovals"] },
    { name: "a thousand-entry jump over 55", plans: [plan(55, addresses(1000), [])], settings: {}, held: ["maxAdditions"] },
    { name: "count limits apply even to a small set", plans: [plan(3, addresses(3), [])], settings: { maxAdditions: 2 }, held: ["maxAdditions"] },
    { name: "a count limit equal to the change passes", plans: [plan(3, addresses(2), [])], settings: { maxAdditions: 2 }, held: [] },
    { name: "too few desired entries", plans: [plan(55, [], [])], settings: { minEntries: 40 }, desiredCount: 3, held: ["minEntries"] },
    {
      name: "new entries outside expected",
      plans: [plan(55, ["104.197.1.1/32", "8.8.8.0/24"], [])],
      settings: { expected: ["34.0.0.0/8", "35.0.0.0/8", "104.0.0.0/8"] },
      held: ["expected"],
    },
    { name: "new entries inside expected", plans: [plan(55, ["104.197.1.1/32"], [])], settings: { expected: ["104.0.0.0/8"] }, held: [] },
    {
      name: "each instance is judged on its own owned set",
      plans: [plan(100, [], addresses(20)), plan(40, [], addresses(20))],
      settings: {},
      held: ["maxRemovals"],
    },
  ])("$name", ({ plans, settings, desiredCount, held }) => {
    expect(run(plans, settings, { desiredCount }).holds.map((t) => t.guard)).toEqual(held);
  });

  it("says which floor judged a small owned set", () => {
    const [trip] = run([plan(2, addresses(6), [])]).holds;
    expect(trip?.message).toContain("maxAdditions: would add 6 to 2 owned entries (300%), limit 50% of at least 10 entries (5):");
  });

  it("explains a removal hold with numbers, limit and first entries", () => {
    const removed = addresses(23);
    const [trip] = run([plan(39, [], removed)]).holds;
    expect(trip?.message).toBe(
      `maxRemovals: would remove 23 of 39 owned entries (59%), limit 25%: ${removed.slice(0, 5).join(", ")}, … (+18 more); check the Travis IP page, then approve exactly this change: sync --dry-run --plan-out FILE, sync --plan FILE`,
    );
  });

  it("names the instance when there are several", () => {
    const [trip] = run([plan(40, [], []), plan(40, [], addresses(20))]).holds;
    expect(trip).toMatchObject({ target: "unix:///run/haproxy/1.sock", message: expect.stringContaining("on unix:///run/haproxy/1.sock, limit 25%") });
  });

  it("--force sets aside the threshold guards but never minEntries", () => {
    const verdict = run([plan(39, ["8.8.8.0/24"], addresses(23))], { minEntries: 60, expected: ["104.0.0.0/8"] }, { force: true });
    expect(verdict.holds.map((t) => t.guard)).toEqual(["minEntries"]);
    expect(verdict.overridden.map((t) => t.guard).sort()).toEqual(["expected", "maxRemovals"]);
    expect(verdict.unexpected).toEqual(["8.8.8.0/24"]);
  });

  it("reports unexpected entries once across instances", () => {
    const verdict = run([plan(55, ["8.8.8.0/24"], []), plan(55, ["8.8.8.0/24"], [])], { expected: ["104.0.0.0/8"] });
    expect(verdict.unexpected).toEqual(["8.8.8.0/24"]);
    expect(verdict.holds[0]?.message).toContain("expected: 1 new entries outside the expected ranges (104.0.0.0/8): 8.8.8.0/24");
  });
});

/** `n` public /16s, each 65,536 addresses. */
function slash16s(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${1 + Math.floor(i / 256)}.${i % 256}.0.0/16`);
}

describe("evaluateGuards: maxAddresses, the desired set as a whole", () => {
  const travis = Array.from({ length: 55 }, (_, i) => `34.66.${i}.1/32`);

  it.each([
    { name: "the Travis set", desired: travis, held: [] },
    { name: "one /16, exactly the default limit", desired: ["34.66.0.0/16"], held: [] },
    { name: "two /16s", desired: slash16s(2), held: ["maxAddresses"] },
    { name: "a /16 and the /24s inside it, counted once", desired: ["34.66.0.0/16", "34.66.1.0/24", "34.66.2.0/24"], held: [] },
    { name: "65,536 single addresses", desired: Array.from({ length: 65_536 }, (_, i) => `34.${i >> 8}.${i & 255}.1/32`), held: [] },
    {
      name: "65,537 single addresses",
      desired: Array.from({ length: 65_537 }, (_, i) => `34.${(i >> 8) & 255}.${i & 255}.${1 + (i >> 16)}/32`),
      held: ["maxAddresses"],
    },
    { name: "IPv6: a /48 is 65,536 /64 networks", desired: ["2600:1900::/48"], held: [] },
    { name: "IPv6 and IPv4 add up against the same limit", desired: ["2600:1900::/48", "34.66.25.221/32"], held: ["maxAddresses"] },
  ])("$name", ({ desired, held }) => {
    expect(run([plan(55, [], [])], { maxAdditions: 1_000_000 }, { desired }).holds.map((t) => t.guard)).toEqual(held);
  });

  it("holds 56,488 /16s into a map owning two entries, naming the count, the limit and the broadest entries", () => {
    const desired = slash16s(56_488);
    const verdict = run([plan(2, desired, [])], {}, { desired });
    expect(verdict.holds.map((t) => t.guard)).toEqual(["maxAddresses", "maxAdditions"]);
    expect(verdict.holds[0]?.message).toBe(
      "maxAddresses: the 56488 desired entries together admit 3701997568 IPv4 addresses, more than 65536 (guards.maxAddresses); broadest: 1.0.0.0/16 (65536), 1.1.0.0/16 (65536), 1.2.0.0/16 (65536), 1.3.0.0/16 (65536), 1.4.0.0/16 (65536); a source this broad is broken or not what it claims: check the sources, and raise guards.maxAddresses only if this breadth is meant",
    );
  });

  it("judges a first run into an empty map: percent limits alone do not hold it, maxAddresses does", () => {
    expect(run([plan(0, travis, [])], {}, { desired: travis }).holds).toEqual([]);
    const broad = slash16s(3);
    expect(run([plan(0, broad, [])], {}, { desired: broad }).holds.map((t) => t.guard)).toEqual(["maxAddresses"]);
  });

  it("is never set aside by --force or a reviewed plan", () => {
    const desired = slash16s(6);
    const verdict = run([plan(2, desired, [])], {}, { desired, force: true });
    expect(verdict.holds.map((t) => t.guard)).toEqual(["maxAddresses"]);
    expect(verdict.overridden.map((t) => t.guard)).toEqual(["maxAdditions"]);
  });

  it("is not judged without the desired entries (a re-plan after a conflict, judged already)", () => {
    expect(run([plan(2, [], [])], {}, { desiredCount: 56_488 }).holds).toEqual([]);
  });
});
