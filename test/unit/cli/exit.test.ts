import { describe, expect, it } from "vitest";
import { EXIT, exitCodeForError, exitCodeOf } from "../../../src/cli/exit.js";
import { AllowlistError, UsageError } from "../../../src/errors.js";
import { RUN_OUTCOMES, type RunOutcome, type RunResult, runOutcomeOf } from "../../../src/model/result.js";
import { DENIALS_OUTCOMES, type DenialsOutcome } from "../../../src/model/denials.js";
import { STATUS_OUTCOMES, type StatusOutcome } from "../../../src/model/status.js";
import { EXPLAIN_OUTCOMES, type ExplainOutcome } from "../../../src/reconcile/explain.js";
import { runResult } from "../../support/results.js";

/** Each outcome's exit code without and with --detailed-exitcode; `satisfies` keeps every outcome in the table. */
const SYNC = { "in-sync": [0, 0], applied: [0, 0], pending: [0, 2], held: [3, 3], failed: [1, 1] } as const satisfies Record<
  RunOutcome,
  readonly [number, number]
>;
const STATUS = { "in-sync": [0, 0], drifted: [0, 2], unknown: [1, 1] } as const satisfies Record<StatusOutcome, readonly [number, number]>;
const EXPLAIN = { agree: [0, 0], disagree: [0, 2], unknown: [1, 1] } as const satisfies Record<ExplainOutcome, readonly [number, number]>;
const DENIALS = { clear: [0, 0], "published-denied": [0, 2], unknown: [1, 1] } as const satisfies Record<DenialsOutcome, readonly [number, number]>;

describe("exitCodeOf: every command's outcome, without and with --detailed-exitcode", () => {
  it.each(RUN_OUTCOMES.map((o) => [o, ...SYNC[o]] as const))("sync %s: %i, detailed %i", (outcome, plain, detailed) => {
    expect(exitCodeOf("sync", outcome, { detailedExitcode: false })).toBe(plain);
    expect(exitCodeOf("sync", outcome, { detailedExitcode: true })).toBe(detailed);
  });

  it.each(STATUS_OUTCOMES.map((o) => [o, ...STATUS[o]] as const))("status %s: %i, detailed %i", (outcome, plain, detailed) => {
    expect(exitCodeOf("status", outcome, { detailedExitcode: false })).toBe(plain);
    expect(exitCodeOf("status", outcome, { detailedExitcode: true })).toBe(detailed);
  });

  it.each(EXPLAIN_OUTCOMES.map((o) => [o, ...EXPLAIN[o]] as const))("explain %s: %i, detailed %i", (outcome, plain, detailed) => {
    expect(exitCodeOf("explain", outcome, { detailedExitcode: false })).toBe(plain);
    expect(exitCodeOf("explain", outcome, { detailedExitcode: true })).toBe(detailed);
  });

  it.each(DENIALS_OUTCOMES.map((o) => [o, ...DENIALS[o]] as const))("denials %s: %i, detailed %i", (outcome, plain, detailed) => {
    expect(exitCodeOf("denials", outcome, { detailedExitcode: false })).toBe(plain);
    expect(exitCodeOf("denials", outcome, { detailedExitcode: true })).toBe(detailed);
  });

  it("uses only the codes of the SPEC table", () => {
    expect(EXIT).toEqual({ ok: 0, failed: 1, changesPending: 2, held: 3, usage: 64 });
  });
});

describe("exitCodeForError", () => {
  it.each([
    ["bad usage", new UsageError("--plan-out saves a dry run's plan: add --dry-run"), 64],
    ["an invalid config", new AllowlistError("E_CONFIG_INVALID", "haproxy.map: required"), 64],
    ["a failed run", new AllowlistError("E_RUN_TIMEOUT", "the run did not finish within runTimeout"), 1],
    ["anything else", new Error("boom"), 1],
  ] as const)("%s: %i", (_name, err, expected) => {
    expect(exitCodeForError(err)).toBe(expected);
  });
});

describe("a run's exit code, from what it did", () => {
  it.each([
    ["in sync", { instances: [] }, true, 0],
    ["planned, no detailed exit code", {}, false, 0],
    ["planned with detailed exit code", {}, true, 2],
    ["held", { held: { guard: "maxRemovals", message: "m", trips: [] } }, true, 3],
    ["failed wins over held", { held: { guard: "g", message: "m", trips: [] }, error: { code: "E_INTERNAL", message: "m" } }, true, 1],
  ] as const)("%s", (_name, overrides, detailedExitcode, expected) => {
    const result = runResult({ dryRun: true, ...(overrides as Partial<RunResult>) });
    expect(exitCodeOf("sync", runOutcomeOf(result), { detailedExitcode })).toBe(expected);
  });
});
