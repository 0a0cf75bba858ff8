import { describe, expect, it } from "vitest";
import { HaproxyError } from "../../../src/errors.js";
import type { MatchAnswer } from "../../../src/model/list.js";
import { answerAt, explainOnInstance, type InstanceContext } from "../../../src/reconcile/explain-instance.js";
import { baseResult } from "../../../src/reconcile/results.js";

const TARGET = "unix:///run/haproxy/admin.sock";
const CONTEXT: InstanceContext = {
  kind: "map",
  ownership: { kind: "map", value: "travis", previousValues: ["travis-old"] },
  pending: new Map([["34.66.25.0/24", "2026-01-02T00:00:00.000Z"]]),
  history: [],
};

const admitted = (address: string, key: string, value: string): MatchAnswer => ({ address, found: true, key, value });
const denied = (address: string): MatchAnswer => ({ address, found: false, key: null, value: null });

describe("explainOnInstance", () => {
  it("names the canonical entry, the key as HAProxy holds it, its owner, its pending removal and drift", () => {
    const result = { ...baseResult(TARGET), unexpected: ["34.66.25.0/24"] };
    const reply = [denied("10.0.0.1"), admitted("34.66.25.7", "34.66.25.7/24", "travis-old")];
    expect(explainOnInstance(result, reply, { index: 1, asked: 2 }, CONTEXT)).toEqual({
      target: TARGET,
      admitted: true,
      entry: "34.66.25.0/24",
      key: "34.66.25.7/24",
      value: "travis-old",
      owner: "self",
      pendingRemoval: "2026-01-02T00:00:00.000Z",
      unexpected: true,
      history: [],
      error: null,
    });
  });

  it("gives a foreign entry neither a pending removal nor drift, and a denied address no owner", () => {
    const result = { ...baseResult(TARGET), unexpected: ["34.66.25.0/24"] };
    const reply = [admitted("34.66.25.7", "34.66.25.0/24", "office"), denied("10.0.0.1")];
    expect(explainOnInstance(result, reply, { index: 0, asked: 2 }, CONTEXT)).toMatchObject({
      admitted: true,
      entry: "34.66.25.0/24",
      owner: "foreign",
      pendingRemoval: null,
      unexpected: false,
    });
    expect(explainOnInstance(result, reply, { index: 1, asked: 2 }, CONTEXT)).toMatchObject({ admitted: false, entry: null, owner: null, error: null });
  });

  it.each([
    ["fewer", [admitted("34.66.25.7", "34.66.25.0/24", "travis")]],
    ["more", [denied("10.0.0.1"), denied("10.0.0.2"), denied("10.0.0.3")]],
  ])("uses no answer of a reply with %s answers than addresses asked, and says so", (_, reply) => {
    for (const index of [0, 1]) {
      const shown = explainOnInstance(baseResult(TARGET), reply, { index, asked: 2 }, CONTEXT);
      expect(shown).toMatchObject({ admitted: null, entry: null, owner: null });
      expect(shown.error).toBe(
        `${TARGET}: get map answered ${reply.length} of the 2 addresses asked, so no answer can be paired with its address; check that the target is HAProxy's runtime socket and run explain again`,
      );
    }
    const error = answerAt(TARGET, reply, 0, 2, "map");
    expect(error).toBeInstanceOf(HaproxyError);
    expect(error).toMatchObject({ code: "E_HAPROXY_PROTOCOL", target: TARGET });
  });

  it("shows why an instance could not be asked, or was not reached", () => {
    const asked = { index: 0, asked: 1 };
    const refused = explainOnInstance(baseResult(TARGET), new Error("get map refused"), asked, CONTEXT);
    expect(refused).toMatchObject({ admitted: null, error: "get map refused" });
    const unreached = { ...baseResult(TARGET), error: "connect ECONNREFUSED" };
    expect(explainOnInstance(unreached, undefined, asked, CONTEXT)).toMatchObject({ admitted: null, error: "connect ECONNREFUSED" });
    expect(explainOnInstance(baseResult(TARGET), undefined, asked, CONTEXT)).toMatchObject({ admitted: null, error: "not reached" });
  });
});
