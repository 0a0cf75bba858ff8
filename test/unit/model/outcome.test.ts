import { describe, expect, it } from "vitest";
import { type HeldBy, type RunResult, runOutcomeOf } from "../../../src/model/result.js";
import { type StatusReport, statusOutcomeOf } from "../../../src/model/status.js";
import { instanceDrift, instanceResult } from "../../support/results.js";

const HELD: HeldBy = { guard: "maxRemovals", message: "m", trips: [] };
const PENDING = [{ entry: "35.192.85.2/32", removeAt: "2026-11-26T18:00:00Z" }];

describe("runOutcomeOf", () => {
  it.each<[string, Pick<RunResult, "error" | "instances" | "held" | "dryRun">, RunResult["outcome"]]>([
    ["no instances", { error: null, instances: [], held: null, dryRun: false }, "in-sync"],
    ["every instance in sync", { error: null, instances: [instanceResult({ status: "in-sync" })], held: null, dryRun: false }, "in-sync"],
    [
      "one instance applied, one in sync",
      { error: null, instances: [instanceResult({ status: "applied" }), instanceResult({ status: "in-sync" })], held: null, dryRun: false },
      "applied",
    ],
    ["a change planned (dry run)", { error: null, instances: [instanceResult({ status: "planned" })], held: null, dryRun: true }, "pending"],
    [
      "a removal waiting out its grace period, in a dry run",
      { error: null, instances: [instanceResult({ status: "in-sync", pendingRemoval: PENDING })], held: null, dryRun: true },
      "pending",
    ],
    [
      "a removal waiting out its grace period, in a real run",
      { error: null, instances: [instanceResult({ status: "in-sync", pendingRemoval: PENDING })], held: null, dryRun: false },
      "in-sync",
    ],
    ["held by a guard", { error: null, instances: [instanceResult({ status: "held" })], held: HELD, dryRun: false }, "held"],
    [
      "an instance failed, another applied",
      { error: null, instances: [instanceResult({ status: "failed" }), instanceResult({ status: "applied" })], held: null, dryRun: false },
      "failed",
    ],
    ["the run failed as a whole, also when held", { error: { code: "E_AUDIT_WRITE", message: "m" }, instances: [], held: HELD, dryRun: false }, "failed"],
  ])("%s", (_name, result, expected) => {
    expect(runOutcomeOf(result)).toBe(expected);
  });
});

describe("statusOutcomeOf", () => {
  const drift = instanceDrift;
  const exposure = { address: "10.0.0.9", entry: "10.0.0.0/8", value: null, owner: "foreign", reason: "too-broad" } as const;

  it.each<[string, Pick<StatusReport, "error" | "instances" | "inSync">, StatusReport["outcome"]]>([
    ["every instance in sync", { error: null, instances: [drift()], inSync: true }, "in-sync"],
    ["an instance out of sync", { error: null, instances: [drift(), drift({ inSync: false, missing: ["34.66.25.221/32"] })], inSync: false }, "drifted"],
    ["in sync, with an exposure", { error: null, instances: [drift({ exposures: [exposure] })], inSync: true }, "drifted"],
    ["in sync, with a removal pending", { error: null, instances: [drift({ pendingRemoval: PENDING })], inSync: true }, "drifted"],
    ["in sync, with an entry never planned", { error: null, instances: [drift({ unexpected: ["34.66.25.221/32"] })], inSync: true }, "drifted"],
    ["an instance could not be read", { error: null, instances: [drift(), drift({ inSync: false, error: "cannot connect" })], inSync: false }, "unknown"],
    ["a source failed", { error: { code: "E_SOURCE_HTTP_STATUS", message: "m" }, instances: [drift({ inSync: null })], inSync: null }, "unknown"],
  ])("%s", (_name, report, expected) => {
    expect(statusOutcomeOf(report)).toBe(expected);
  });
});
