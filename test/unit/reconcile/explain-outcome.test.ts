import { describe, expect, it } from "vitest";
import { type ExplainedAddress, type ExplainInstance, type ExplainReport, explainOutcomeOf } from "../../../src/reconcile/explain.js";

const answer = (target: string, overrides: Partial<ExplainInstance> = {}): ExplainInstance => ({
  target,
  admitted: true,
  entry: "34.66.25.221/32",
  value: "travis",
  owner: "self",
  pendingRemoval: null,
  unexpected: false,
  history: [],
  error: null,
  ...overrides,
});

const address = (...instances: ExplainInstance[]): ExplainedAddress => ({
  address: "34.66.25.221",
  desired: true,
  excludedBy: null,
  provenance: [],
  instances,
});

const DENIED = { admitted: false, entry: null, value: null, owner: null } as const;

describe("explainOutcomeOf", () => {
  it.each<[string, ExplainedAddress[], ExplainReport["error"], ExplainReport["outcome"]]>([
    ["every instance admits through the same entry", [address(answer("a"), answer("b"))], null, "agree"],
    ["every instance denies", [address(answer("a", DENIED), answer("b", DENIED))], null, "agree"],
    ["one admits, one denies", [address(answer("a"), answer("b", DENIED))], null, "disagree"],
    ["both admit, through entries of different owners", [address(answer("a"), answer("b", { owner: "foreign", value: "office" }))], null, "disagree"],
    [
      "they agree about one address and disagree about another",
      [address(answer("a"), answer("b")), address(answer("a"), answer("b", DENIED))],
      null,
      "disagree",
    ],
    ["an instance could not be asked", [address(answer("a"), answer("b", { ...DENIED, admitted: null, error: "cannot connect" }))], null, "unknown"],
    ["the sources could not be read", [address(answer("a"), answer("b"))], { code: "E_SOURCE_HTTP_STATUS", message: "m" }, "unknown"],
  ])("%s", (_name, addresses, error, expected) => {
    expect(explainOutcomeOf(addresses, error)).toBe(expected);
  });
});
