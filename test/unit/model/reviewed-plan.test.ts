import { describe, expect, it } from "vitest";
import { PLAN_CLOCK_SKEW_MS, planAgeRefusal, type ReviewedPlan, whatMoved } from "../../../src/model/reviewed-plan.js";
import { instanceResult } from "../../support/results.js";

const PLAN: ReviewedPlan = {
  version: 1,
  createdAt: "2026-11-26T18:00:00.000Z",
  configDigest: "sha256:c",
  desired: { count: 2, digest: "sha256:d" },
  held: "maxAdditions",
  instances: [{ target: "tcp://a:1", liveDigest: "sha256:l", add: ["34.1.1.1/32"], remove: [] }],
};
const now = (over: Partial<Parameters<typeof whatMoved>[1]> = {}) => ({
  configDigest: "sha256:c",
  desired: { digest: "sha256:d" },
  instances: [instanceResult({ target: "tcp://a:1", liveDigest: "sha256:l", add: ["34.1.1.1/32"], remove: [] })],
  ...over,
});

describe("whatMoved", () => {
  it.each([
    ["nothing", now(), []],
    ["the config", now({ configDigest: "sha256:x" }), ["the config changed"]],
    ["the desired set", now({ desired: { digest: "sha256:e" } }), ["the desired set changed (sha256:d → sha256:e)"]],
    [
      "a live list",
      now({ instances: [instanceResult({ target: "tcp://a:1", liveDigest: "sha256:m", add: ["34.1.1.1/32"], remove: [] })] }),
      ["tcp://a:1: its live list changed"],
    ],
    [
      "an unreadable instance",
      now({ instances: [instanceResult({ target: "tcp://a:1", status: "failed", error: "refused" })] }),
      ["tcp://a:1 could not be read: refused"],
    ],
    ["another instance", now({ instances: [...now().instances, instanceResult({ target: "tcp://b:1" })] }), ["tcp://b:1 was not in the reviewed plan"]],
  ])("%s moved", (_name, current, expected) => expect(whatMoved(PLAN, current)).toEqual(expected));
});

describe("planAgeRefusal", () => {
  const made = new Date("2026-11-26T18:00:00.000Z");
  const HOUR = 3_600_000;
  const at = (offsetMs: number) => new Date(made.getTime() + offsetMs);

  it.each([
    ["at once", 0, null],
    ["exactly planMaxAge later", HOUR, null],
    ["a moment past planMaxAge", HOUR + 1, { kind: "expired", ageMs: HOUR + 1 }],
    ["a day later", 24 * HOUR, { kind: "expired", ageMs: 24 * HOUR }],
    ["on a clock a little behind the one that made it", -PLAN_CLOCK_SKEW_MS, null],
    ["on a clock further behind than skew explains", -PLAN_CLOCK_SKEW_MS - 1, { kind: "future", aheadMs: PLAN_CLOCK_SKEW_MS + 1 }],
  ])("a plan applied %s", (_when, offsetMs, expected) => {
    expect(planAgeRefusal(made, at(offsetMs), HOUR)).toEqual(expected);
  });

  it("planMaxAge 0 refuses any plan made before now", () => {
    expect(planAgeRefusal(made, at(1), 0)).toEqual({ kind: "expired", ageMs: 1 });
  });
});
