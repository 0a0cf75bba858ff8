import { describe, expect, it } from "vitest";
import { parseLimit } from "../../../src/config/limits.js";
import type { Limit } from "../../../src/model/guards.js";
import { evaluateGuards } from "../../../src/plan/guards.js";
import type { InstancePlan } from "../../../src/plan/plan.js";

/** Guard settings as written in the config; the config layer turns limits into counts and fractions. */
interface Written {
  minEntries: number;
  maxAdditions: number | string;
  maxRemovals: number | string;
  expected?: string[];
}

const DEFAULTS: Written = { minEntries: 1, maxAdditions: "50%", maxRemovals: "25%" };
const limit = (value: number | string): Limit => parseLimit(value) as Limit;

function addresses(n: number, third = 0): string[] {
  return Array.from({ length: n }, (_, i) => `104.197.${third}.${i}/32`);
}

function plan(owned: number, add: string[], remove: string[]): InstancePlan {
  return { add, remove, removeEntries: [], rewrite: [], supersede: [], ownedCount: owned, foreignCount: 0, kept: [], content: [] };
}

function run(plans: InstancePlan[], settings: Partial<Written> = {}, options: { desiredCount?: number; force?: boolean } = {}) {
  const written = { ...DEFAULTS, ...settings };
  return evaluateGuards({
    desiredCount: options.desiredCount ?? 55,
    plans: plans.map((p, i) => ({ target: `unix:///run/haproxy/${i}.sock`, plan: p })),
    settings: { ...written, maxAdditions: limit(written.maxAdditions), maxRemovals: limit(written.maxRemovals) },
    force: options.force ?? false,
  });
}

describe("evaluateGuards", () => {
  it.each([
    { name: "no changes", plans: [plan(55, [], [])], settings: {}, held: [] },
    { name: "a first run into an empty map is not held by percent limits", plans: [plan(0, addresses(55), [])], settings: {}, held: [] },
    { name: "percent limits wait for 10 owned entries", plans: [plan(9, addresses(9), addresses(9, 1))], settings: {}, held: [] },
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
