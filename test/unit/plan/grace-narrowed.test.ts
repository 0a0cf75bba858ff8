import { describe, expect, it } from "vitest";
import type { AbsenceState } from "../../../src/model/absence.js";
import { decideGrace, groupBySources, settleState, vanishedFrom } from "../../../src/plan/grace.js";

const HOUR = 3_600_000;
const T0 = new Date("2026-11-26T18:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);
const A = "unix:///a.sock";
const B = "unix:///b.sock";

/** A full run left both instances holding the desired set; one entry is absent upstream and pending. */
const SETTLED: AbsenceState = {
  version: 1,
  map: "/m.map",
  provenance: [{ sources: ["travis-dns"], entries: ["34.66.25.221/32", "35.192.85.2/32"] }],
  entries: { "35.192.85.2/32": { firstAbsent: T0.toISOString(), events: [{ at: T0.toISOString(), kind: "gone" }] } },
  instances: { [A]: T0.toISOString(), [B]: T0.toISOString() },
  processes: { [A]: "100@1", [B]: "200@1" },
};

describe("a narrowed run", () => {
  it("replaces only the instances it reached in the state; a full run replaces them all", () => {
    const narrowed = settleState(SETTLED, { removed: [], converged: [A], now: at(HOUR), processes: new Map([[A, "101@2"]]), narrowedTo: [A] });
    expect(narrowed.instances).toEqual({ [A]: at(HOUR).toISOString(), [B]: T0.toISOString() });
    expect(narrowed.processes).toEqual({ [A]: "101@2", [B]: "200@1" });
    // The instance left out is still judged by what the last run there left: a hand deletion there is drift.
    expect(vanishedFrom(B, ["34.66.25.221/32"], narrowed, "200@1")).toEqual(["34.66.25.221/32"]);

    const failedThere = settleState(SETTLED, { removed: [], converged: [], now: at(HOUR), narrowedTo: [A] });
    expect(failedThere.instances).toEqual({ [B]: T0.toISOString() });
    expect(failedThere.processes).toEqual({ [B]: "200@1" });

    const full = settleState(SETTLED, { removed: [], converged: [A], now: at(HOUR), processes: new Map([[A, "101@2"]]) });
    expect(full.instances).toEqual({ [A]: at(HOUR).toISOString() });
    expect(full.processes).toEqual({ [A]: "101@2" });
  });

  it("keeps the grace period of an entry only the instances left out hold; a full run that sees it nowhere closes it", () => {
    const desired = { desired: groupBySources([{ key: "34.66.25.221/32", sources: ["travis-dns"] }]), desiredKeys: new Set(["34.66.25.221/32"]) };
    const base = {
      state: SETTLED,
      ...desired,
      // The reached instance no longer holds the pending entry.
      liveOwned: new Set(["34.66.25.221/32"]),
      configSources: new Set(["travis-dns"]),
      exclude: [],
      removeAfterMs: 2 * HOUR,
      noGrace: false,
      now: at(HOUR),
      stateKnown: true,
    };
    const narrowed = decideGrace({ ...base, partial: true });
    expect(narrowed.nextState.entries["35.192.85.2/32"]).toEqual(SETTLED.entries["35.192.85.2/32"]);
    expect(narrowed.nextState.provenance.flatMap((g) => g.entries).sort()).toEqual(["34.66.25.221/32", "35.192.85.2/32"]);
    expect(narrowed.nextState.processes).toEqual(SETTLED.processes);
    // The next full run finds it on the other instance with its period running since T0, not started over.
    const full = decideGrace({ ...base, state: narrowed.nextState, liveOwned: new Set(["34.66.25.221/32", "35.192.85.2/32"]) });
    expect([...full.pending]).toEqual([["35.192.85.2/32", at(2 * HOUR).toISOString()]]);

    const closed = decideGrace({ ...base, partial: false });
    expect(closed.nextState.entries["35.192.85.2/32"]?.firstAbsent).toBeUndefined();
  });
});
