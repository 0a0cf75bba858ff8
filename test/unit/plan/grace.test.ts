import { describe, expect, it } from "vitest";
import { type AbsenceState, emptyState } from "../../../src/model/absence.js";
import { decideGrace, type GraceInput, groupBySources, reappearedOn, recentlyRemoved, settleState, vanishedFrom } from "../../../src/plan/grace.js";
import { computePlan } from "../../../src/plan/plan.js";

const HOUR = 3_600_000;
const T0 = new Date("2026-11-26T18:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);

/** Desired entries as `key → sources`, the way the reconciler groups them. */
function desired(entries: Record<string, string[]>): Pick<GraceInput, "desired" | "desiredKeys"> {
  return { desired: groupBySources(Object.entries(entries).map(([key, sources]) => ({ key, sources }))), desiredKeys: new Set(Object.keys(entries)) };
}

/** The state a previous run left: both entries were published then. */
const PUBLISHED: AbsenceState = {
  version: 1,
  map: "/m.map",
  provenance: [{ sources: ["travis-dns"], entries: ["34.66.25.221/32", "35.192.85.2/32"] }],
  entries: {},
};

function input(overrides: Partial<GraceInput>): GraceInput {
  return {
    state: PUBLISHED,
    ...desired({ "34.66.25.221/32": ["travis-dns"] }),
    liveOwned: new Set(["34.66.25.221/32", "35.192.85.2/32"]),
    configSources: new Set(["travis-dns", "pinned"]),
    exclude: [],
    removeAfterMs: HOUR,
    noGrace: false,
    now: T0,
    stateKnown: true,
    ...overrides,
  };
}

describe("decideGrace", () => {
  it("keeps a newly absent entry until the period has passed", () => {
    const first = decideGrace(input({}));
    expect([...first.pending]).toEqual([["35.192.85.2/32", at(HOUR).toISOString()]]);
    expect(first.removeNow.size).toBe(0);
    const later = decideGrace(input({ state: first.nextState, now: at(HOUR - 1) }));
    expect(later.pending.get("35.192.85.2/32")).toBe(at(HOUR).toISOString());
    const expired = decideGrace(input({ state: first.nextState, now: at(HOUR) }));
    expect(expired.removeNow.get("35.192.85.2/32")).toBe("grace expired");
  });

  it("an entry that comes back is kept with no removal and counted as a flap", () => {
    const gone = decideGrace(input({}));
    const back = decideGrace(
      input({ state: gone.nextState, now: at(10 * 60_000), ...desired({ "34.66.25.221/32": ["travis-dns"], "35.192.85.2/32": ["travis-dns"] }) }),
    );
    expect(back.pending.size + back.removeNow.size).toBe(0);
    expect(back.nextState.entries["35.192.85.2/32"]).toEqual({
      events: [
        { at: T0.toISOString(), kind: "gone" },
        { at: at(10 * 60_000).toISOString(), kind: "back" },
      ],
    });
    expect(back.nextState.provenance).toEqual([{ sources: ["travis-dns"], entries: ["34.66.25.221/32", "35.192.85.2/32"] }]);
    expect(back.flaps).toEqual({ "35.192.85.2/32": 1 });
  });

  it("forgets flaps older than a day", () => {
    const gone = decideGrace(input({}));
    const tomorrow = decideGrace(input({ state: gone.nextState, now: at(25 * HOUR), liveOwned: new Set(["34.66.25.221/32"]) }));
    expect(tomorrow.flaps).toEqual({});
  });

  it.each([
    ["excluded", { exclude: ["35.192.0.0/16"] }, "excluded"],
    ["grace disabled by --no-grace", { noGrace: true }, "grace disabled"],
    ["grace disabled by removeAfter 0", { removeAfterMs: 0 }, "grace disabled"],
  ] as const)("removes at once when %s", (_name, overrides, reason) => {
    expect(decideGrace(input(overrides)).removeNow.get("35.192.85.2/32")).toBe(reason);
  });

  it("removes at once an entry whose every source was taken out of the config", () => {
    const state: AbsenceState = { version: 1, map: "/m.map", provenance: [{ sources: ["old-feed"], entries: ["35.192.85.2/32"] }], entries: {} };
    expect(decideGrace(input({ state })).removeNow.get("35.192.85.2/32")).toBe("source removed from config");
    const stillConfigured: AbsenceState = { version: 1, map: "/m.map", provenance: [{ sources: ["travis-dns"], entries: ["35.192.85.2/32"] }], entries: {} };
    expect(decideGrace(input({ state: stillConfigured })).pending.has("35.192.85.2/32")).toBe(true);
  });

  it("keeps what it needs and no more: grouped provenance, records only for absent or recent entries", () => {
    const decision = decideGrace(input({}));
    expect(decision.nextState).toEqual({
      version: 1,
      map: "/m.map",
      provenance: [
        { sources: ["travis-dns"], entries: ["34.66.25.221/32"] },
        { sources: ["travis-dns"], entries: ["35.192.85.2/32"] },
      ],
      entries: { "35.192.85.2/32": { firstAbsent: T0.toISOString(), events: [{ at: T0.toISOString(), kind: "gone" }] } },
    });
    expect(decision.flaps).toEqual({});
  });

  it("remembers the sources of an absent entry across runs, so a later config change is still seen", () => {
    const seen = decideGrace(input({ ...desired({ "35.192.85.2/32": ["pinned"] }), liveOwned: new Set(["35.192.85.2/32"]) }));
    const absent = decideGrace(input({ state: seen.nextState, ...desired({}), liveOwned: new Set(["35.192.85.2/32"]) }));
    expect(absent.pending.has("35.192.85.2/32")).toBe(true);
    const later = decideGrace(
      input({ state: absent.nextState, ...desired({}), liveOwned: new Set(["35.192.85.2/32"]), configSources: new Set(["travis-dns"]), now: at(60_000) }),
    );
    expect(later.removeNow.get("35.192.85.2/32")).toBe("source removed from config");
  });

  it("with no state at all (lost or corrupt), an absent entry only starts its period", () => {
    const decision = decideGrace(input({ state: emptyState("/m.map"), now: at(100 * HOUR), stateKnown: false }));
    expect(decision.removeNow.size).toBe(0);
    expect(decision.unexpected.size).toBe(0);
    expect(decision.pending.has("35.192.85.2/32")).toBe(true);
  });

  it("an owned entry the state never knew as desired is drift: removed now, no grace period, no flap", () => {
    const decision = decideGrace(input({ liveOwned: new Set(["34.66.25.221/32", "35.192.85.2/32", "1.2.3.4/32"]) }));
    expect(decision.removeNow.get("1.2.3.4/32")).toBe("never desired");
    expect([...decision.unexpected]).toEqual(["1.2.3.4/32"]);
    expect(decision.pending.has("35.192.85.2/32")).toBe(true);
    expect(decision.nextState.entries["1.2.3.4/32"]).toBeUndefined();
    expect(decision.flaps).toEqual({});
  });

  it("an entry published, removed and live again is removed at once but not judged drift for the whole map: an instance the removing run missed may hold it", () => {
    const gone = decideGrace(input({ removeAfterMs: 0 }));
    expect(gone.removeNow.get("35.192.85.2/32")).toBe("grace disabled");
    const settled = settleState(gone.nextState, { removed: ["35.192.85.2/32"], converged: [], now: T0 });
    const again = decideGrace(input({ state: settled, now: at(60_000) }));
    expect(again.unexpected.size).toBe(0);
    expect(again.removeNow.get("35.192.85.2/32")).toBe("grace expired");
  });

  it("a removed entry seen live again run after run is still one removal: no flap, no new grace period", () => {
    const gone = decideGrace(input({ removeAfterMs: 0 }));
    let state = settleState(gone.nextState, { removed: ["35.192.85.2/32"], converged: ["unix:///a.sock"], now: T0 });
    for (let run = 1; run <= 4; run++) {
      const again = decideGrace(input({ state, now: at(run * 60_000) }));
      expect(again.removeNow.get("35.192.85.2/32"), `run ${run}`).toBe("grace expired");
      expect(again.flaps, `run ${run}`).toEqual({});
      state = settleState(again.nextState, { removed: ["35.192.85.2/32"], converged: ["unix:///a.sock"], now: at(run * 60_000) });
    }
    expect(state.entries["35.192.85.2/32"]?.events).toEqual([{ at: T0.toISOString(), kind: "gone" }]);
  });

  it("an entry removed, published again and then gone again gets a fresh grace period", () => {
    const gone = decideGrace(input({ removeAfterMs: 0 }));
    const removed = settleState(gone.nextState, { removed: ["35.192.85.2/32"], converged: ["unix:///a.sock"], now: T0 });
    const both = { "34.66.25.221/32": ["travis-dns"], "35.192.85.2/32": ["travis-dns"] };
    const back = decideGrace(input({ state: removed, now: at(HOUR), ...desired(both), liveOwned: new Set(["34.66.25.221/32"]) }));
    const goneAgain = decideGrace(input({ state: back.nextState, now: at(2 * HOUR) }));
    expect(goneAgain.pending.get("35.192.85.2/32")).toBe(at(3 * HOUR).toISOString());
    expect(goneAgain.flaps).toEqual({ "35.192.85.2/32": 2 });
  });

  it("an entry published again after the day's pruning took its removal event, then gone again, gets a fresh grace period and is no drift", () => {
    const DAY = 24 * HOUR;
    const gone = decideGrace(input({ removeAfterMs: DAY }));
    const removedAt25h = settleState(decideGrace(input({ state: gone.nextState, removeAfterMs: DAY, now: at(DAY + HOUR) })).nextState, {
      removed: ["35.192.85.2/32"],
      converged: ["unix:///a.sock"],
      now: at(DAY + HOUR),
    });
    expect(removedAt25h.entries["35.192.85.2/32"]).toEqual({ removedAt: at(DAY + HOUR).toISOString(), events: [] });
    const both = { "34.66.25.221/32": ["travis-dns"], "35.192.85.2/32": ["travis-dns"] };
    const back = decideGrace(input({ state: removedAt25h, removeAfterMs: DAY, now: at(30 * HOUR), ...desired(both) }));
    const goneAgain = decideGrace(input({ state: back.nextState, removeAfterMs: DAY, now: at(31 * HOUR) }));
    expect(goneAgain.removeNow.has("35.192.85.2/32")).toBe(false);
    expect(goneAgain.pending.get("35.192.85.2/32")).toBe(at(55 * HOUR).toISOString());
    expect(reappearedOn("unix:///a.sock", ["35.192.85.2/32"], back.nextState)).toEqual([]);
  });

  it("counts reversals in a state written with repeated removals, not events", () => {
    const events = ["gone", "back", "gone", "gone", "gone"].map((kind, i) => ({ at: at(i * 60_000).toISOString(), kind: kind as "gone" | "back" }));
    const state: AbsenceState = { ...PUBLISHED, entries: { "35.192.85.2/32": { removedAt: at(4 * 60_000).toISOString(), events } } };
    expect(decideGrace(input({ state, now: at(HOUR) })).flaps).toEqual({ "35.192.85.2/32": 2 });
  });

  it("a removal alone is no flap; gone, back and gone again is two", () => {
    const gone = decideGrace(input({}));
    expect(gone.flaps).toEqual({});
    const both = { "34.66.25.221/32": ["travis-dns"], "35.192.85.2/32": ["travis-dns"] };
    const back = decideGrace(input({ state: gone.nextState, now: at(60_000), ...desired(both) }));
    const goneAgain = decideGrace(input({ state: back.nextState, now: at(120_000) }));
    expect(goneAgain.flaps).toEqual({ "35.192.85.2/32": 2 });
  });
});

describe("settleState, vanishedFrom, recentlyRemoved", () => {
  it("marks removals and the instances that converged; a failed instance is forgotten", () => {
    const previous: AbsenceState = { ...PUBLISHED, instances: { "unix:///a.sock": T0.toISOString(), "unix:///b.sock": T0.toISOString() } };
    const next = settleState(previous, { removed: ["35.192.85.2/32"], converged: ["unix:///a.sock"], now: at(HOUR) });
    expect(next.entries["35.192.85.2/32"]).toEqual({ removedAt: at(HOUR).toISOString(), events: [] });
    expect(next.instances).toEqual({ "unix:///a.sock": at(HOUR).toISOString() });
    expect(recentlyRemoved(next, at(2 * HOUR))).toEqual(["35.192.85.2/32"]);
    expect(recentlyRemoved(next, at(26 * HOUR))).toEqual([]);
  });

  it.each([
    ["an instance the last run left converged", "unix:///a.sock", undefined, ["35.192.85.2/32"]],
    ["an instance the last run did not converge", "unix:///b.sock", undefined, []],
    ["the same HAProxy process the last run left converged", "unix:///a.sock", "7@100", ["35.192.85.2/32"]],
    ["a new HAProxy process (restarted or reloaded: it loaded its map file)", "unix:///a.sock", "9@160", []],
  ] as const)("desired entries missing from %s: vanished behind the tool's back? %j", (_name, target, process, vanished) => {
    const state: AbsenceState = { ...PUBLISHED, instances: { "unix:///a.sock": T0.toISOString() }, processes: { "unix:///a.sock": "7@100" } };
    expect(vanishedFrom(target, ["35.192.85.2/32", "203.0.113.9/32"], state, process)).toEqual(vanished);
  });

  it.each([
    ["the instance the removing run left settled", "unix:///a.sock", undefined, ["35.192.85.2/32"]],
    ["an instance the removing run did not settle", "unix:///b.sock", undefined, []],
    ["a new HAProxy process there (it loaded its map file)", "unix:///a.sock", "9@160", []],
  ] as const)("a removed entry live again on %s was put back behind the tool's back? %j", (_name, target, process, reappeared) => {
    const removed = settleState(PUBLISHED, {
      removed: ["35.192.85.2/32"],
      converged: ["unix:///a.sock"],
      now: T0,
      processes: new Map([["unix:///a.sock", "7@100"]]),
    });
    const state: AbsenceState = {
      ...removed,
      entries: { "35.192.85.2/32": { removedAt: T0.toISOString(), events: [{ at: T0.toISOString(), kind: "gone" }] } },
    };
    expect(reappearedOn(target, ["35.192.85.2/32"], state, process)).toEqual(reappeared);
  });

  it("a removed entry that upstream published again since is no reappearance, even on the instance the removal left settled", () => {
    const state: AbsenceState = {
      ...settleState(PUBLISHED, { removed: ["35.192.85.2/32"], converged: ["unix:///a.sock"], now: T0 }),
      entries: { "35.192.85.2/32": { removedAt: T0.toISOString(), events: [{ at: T0.toISOString(), kind: "gone" }] } },
    };
    const publishedAgain: AbsenceState = {
      ...state,
      entries: {
        "35.192.85.2/32": {
          removedAt: T0.toISOString(),
          events: [
            { at: T0.toISOString(), kind: "gone" },
            { at: at(1).toISOString(), kind: "back" },
          ],
        },
      },
    };
    expect(reappearedOn("unix:///a.sock", ["35.192.85.2/32"], state)).toEqual(["35.192.85.2/32"]);
    expect(reappearedOn("unix:///a.sock", ["35.192.85.2/32"], publishedAgain)).toEqual([]);
  });

  it("remembers the process each converged instance ran as, and forgets a failed one's", () => {
    const previous: AbsenceState = { ...PUBLISHED, instances: { "unix:///b.sock": T0.toISOString() }, processes: { "unix:///b.sock": "3@50" } };
    const processes = new Map([
      ["unix:///a.sock", "7@100"],
      ["unix:///b.sock", "3@50"],
    ]);
    const next = settleState(previous, { removed: [], converged: ["unix:///a.sock"], now: at(HOUR), processes });
    expect(next.processes).toEqual({ "unix:///a.sock": "7@100" });
  });
});

describe("computePlan with kept entries", () => {
  it("keeps an owned entry in `keep` on the instances that hold it, and adds it nowhere", () => {
    const live = [
      { ref: "0x1", key: "35.192.85.2", value: "travis" },
      { ref: "0x2", key: "10.0.0.0/8", value: "office" },
    ];
    const plan = computePlan(live, ["34.66.25.221/32"], { kind: "map", value: "travis" }, new Set(["35.192.85.2/32", "35.188.1.99/32"]));
    expect(plan).toMatchObject({ add: ["34.66.25.221/32"], remove: [], kept: ["35.192.85.2/32"] });
    expect(plan.content).toEqual([
      { key: "10.0.0.0/8", value: "office" },
      { key: "34.66.25.221/32", value: "travis" },
      { key: "35.192.85.2/32", value: "travis" },
    ]);
  });
});
