import { describe, expect, it } from "vitest";
import type { Denial, DeniedClient } from "../../../src/model/denials.js";
import type { DenialFacts, HeldRun, Removal } from "../../../src/plan/denial-facts.js";
import { classifyDenials, publishedDenied } from "../../../src/plan/denial-reasons.js";

const NOW = new Date("2026-11-26T12:00:00.000Z");
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();
const A = "unix:///run/a.sock";
const B = "unix:///run/b.sock";
const C = "unix:///run/c.sock";

const client = (address: string, requests = 1, lastSeen = ago(1)): DeniedClient => ({ address, requests, lastSeenMs: Date.parse(lastSeen) });

const PUBLISHED = [
  { entry: "34.66.25.221/32", provenance: [{ source: "travis-dns", hostname: "nat.travisci.net" }], since: "2026-11-20T08:00:00.000Z" },
  { entry: "35.188.0.0/24", provenance: [{ source: "travis-json", url: "https://feeds.example/a.json" }, { source: "pinned" }], since: null },
];
const HELD: HeldRun = { runId: "run-held", guard: "maxAdditions", message: "12 additions exceed the limit of 5", additions: ["34.66.25.221/32"] };
const REMOVAL: Removal = { entry: "104.154.113.151/32", at: "2026-11-25T10:00:00.000Z", runId: "run-removed", why: "absent upstream past removeAfter" };

function facts(over: Partial<DenialFacts> = {}): DenialFacts {
  return {
    now: NOW,
    denied: [],
    published: PUBLISHED,
    live: [
      { target: A, entries: [] },
      { target: B, entries: ["35.188.0.0/24"] },
      { target: C, entries: [] },
    ],
    held: null,
    removals: [],
    admissions: [],
    exclude: [],
    ...over,
  };
}

const only = (address: string, over: Partial<DenialFacts> = {}) => {
  const denials = classifyDenials(facts({ denied: [{ target: A, clients: [client(address)] }], ...over }));
  expect(denials).toHaveLength(1);
  return denials[0] as Denial;
};

describe("classifyDenials: reasons", () => {
  it.each([
    [
      "stale: published, no held run",
      "34.66.25.221",
      {},
      "stale",
      null,
      "published by travis-dns (nat.travisci.net) since 2026-11-20T08:00:00.000Z; not live on any of 3 instances",
    ],
    [
      "stale inside a published range, live on one instance",
      "35.188.0.9",
      {},
      "stale",
      null,
      "published by travis-json (https://feeds.example/a.json), pinned; not live on 2 of 3 instances",
    ],
    [
      "held: the held run planned to add it",
      "34.66.25.221",
      { held: HELD },
      "held",
      "run-held",
      "published by travis-dns (nat.travisci.net) since 2026-11-20T08:00:00.000Z; run run-held planned to add it and was held by guard maxAdditions: 12 additions exceed the limit of 5; not live on any of 3 instances",
    ],
    [
      "removed: not published now, removed by this tool",
      "104.154.113.151",
      { removals: [REMOVAL] },
      "removed",
      "run-removed",
      "removed by this tool at 2026-11-25T10:00:00.000Z in run run-removed: absent upstream past removeAfter; no source publishes it now; not live on any of 3 instances",
    ],
    [
      "excluded: exclude covers it",
      "35.231.58.7",
      { exclude: ["35.231.58.0/24"] },
      "excluded",
      null,
      "exclude 35.231.58.0/24 covers it; not live on any of 3 instances",
    ],
    [
      "unpublished: nobody publishes it, never removed",
      "198.51.100.7",
      {},
      "unpublished",
      null,
      "no source publishes it and this tool never admitted it; not live on any of 3 instances",
    ],
  ])("%s", (_, address, over, reason, runId, detail) => {
    expect(only(address, over)).toMatchObject({ address, reason, runId, detail });
  });

  it("held while no sync has run the held plan yet: no run to name, the detail says the next sync is held", () => {
    const denial = only("34.66.25.221", { held: { ...HELD, runId: null } });
    expect(denial).toMatchObject({ reason: "held", runId: null });
    expect(denial.detail).toContain("the next sync plans to add it and is held by guard maxAdditions: 12 additions exceed the limit of 5");
  });

  it("a held run that did not plan this address leaves it stale", () => {
    expect(only("35.188.0.9", { held: HELD })).toMatchObject({ reason: "stale", runId: null });
  });

  it("live on every instance read is said, and unread instances are not counted", () => {
    const live = [
      { target: A, entries: ["35.188.0.0/24"] },
      { target: B, entries: null },
    ];
    expect(only("35.188.0.9", { live }).detail).toBe(
      "published by travis-json (https://feeds.example/a.json), pinned; live on the 1 instance read now; admitted since on every instance that denied it: these denials came before",
    );
  });

  it("with no live list read, the detail says nothing about where it is live", () => {
    expect(only("198.51.100.7", { live: [] }).detail).toBe("no source publishes it and this tool never admitted it");
  });
});

describe("classifyDenials: precedence", () => {
  it("excluded wins over published", () => {
    const denial = only("34.66.25.221", { exclude: ["34.66.25.221/32"], held: HELD });
    expect(denial).toMatchObject({ reason: "excluded", runId: null });
    expect(denial.detail).toBe(
      "exclude 34.66.25.221/32 covers it; published by travis-dns (nat.travisci.net) since 2026-11-20T08:00:00.000Z; not live on any of 3 instances",
    );
  });

  it("excluded wins over removed", () => {
    expect(only("104.154.113.151", { exclude: ["104.154.113.151/32"], removals: [REMOVAL] })).toMatchObject({ reason: "excluded", runId: null });
  });

  it("removed earlier and published again now is stale, and the detail tells of the removal", () => {
    const removal = { ...REMOVAL, entry: "34.66.25.221/32" };
    const denial = only("34.66.25.221", { removals: [removal] });
    expect(denial).toMatchObject({ reason: "stale", runId: null });
    expect(denial.detail).toMatch(/; earlier removed by this tool at 2026-11-25T10:00:00\.000Z in run run-removed: absent upstream past removeAfter$/);
  });

  it("removed earlier, published again and held is held by the held run", () => {
    expect(only("34.66.25.221", { held: HELD, removals: [{ ...REMOVAL, entry: "34.66.25.221/32" }] })).toMatchObject({ reason: "held", runId: "run-held" });
  });

  it("of several removals of one address, the latest names the run", () => {
    const removals = [
      { ...REMOVAL, at: "2026-11-25T10:00:00.000Z", runId: "later" },
      { ...REMOVAL, at: "2026-11-24T10:00:00.000Z", runId: "earlier" },
    ];
    expect(only("104.154.113.151", { removals })).toMatchObject({ reason: "removed", runId: "later" });
  });
});

describe("classifyDenials: aggregation, sorting and --since", () => {
  it("one denial per address over every instance: requests summed, the latest lastSeen, instances by target", () => {
    const denials = classifyDenials(
      facts({
        denied: [
          { target: B, clients: [client("198.51.100.7", 4, ago(30))] },
          { target: A, clients: [client("198.51.100.7", 3, ago(5))] },
        ],
      }),
    );
    expect(denials).toEqual([
      {
        address: "198.51.100.7",
        requests: 7,
        lastSeen: ago(5),
        reason: "unpublished",
        detail: "no source publishes it and this tool never admitted it; not live on any of 3 instances",
        runId: null,
        instances: [
          { target: A, requests: 3, lastSeen: ago(5), admitted: false },
          { target: B, requests: 4, lastSeen: ago(30), admitted: false },
        ],
        current: true,
      },
    ]);
  });

  it("stale and held first, then by requests, then by address", () => {
    const denials = classifyDenials(
      facts({
        held: { ...HELD, additions: ["35.188.0.0/24"] },
        removals: [REMOVAL],
        denied: [
          {
            target: A,
            clients: [
              client("198.51.100.7", 500),
              client("104.154.113.151", 90),
              client("34.66.25.221", 2),
              client("35.188.0.9", 2),
              client("35.188.0.10", 40),
              client("198.51.100.1", 90),
            ],
          },
        ],
      }),
    );
    expect(denials.map((d) => [d.address, d.reason])).toEqual([
      ["35.188.0.10", "held"],
      ["34.66.25.221", "stale"],
      ["35.188.0.9", "held"],
      ["198.51.100.7", "unpublished"],
      ["104.154.113.151", "removed"],
      ["198.51.100.1", "unpublished"],
    ]);
  });

  it("--since leaves out what an instance last saw earlier, before adding up", () => {
    const denials = classifyDenials(
      facts({
        sinceMs: 60 * 60_000,
        denied: [
          { target: A, clients: [client("34.66.25.221", 3, ago(60)), client("198.51.100.7", 9, ago(61))] },
          { target: B, clients: [client("34.66.25.221", 5, ago(120))] },
        ],
      }),
    );
    expect(denials).toHaveLength(1);
    expect(denials[0]).toMatchObject({ address: "34.66.25.221", requests: 3, lastSeen: ago(60), instances: [{ target: A, requests: 3 }] });
  });

  it("nothing denied, nothing to say", () => {
    expect(classifyDenials(facts())).toEqual([]);
  });
});

describe("publishedDenied (--detailed-exitcode)", () => {
  const judged = (address: string, over: Partial<DenialFacts> = {}) => classifyDenials(facts({ denied: [{ target: A, clients: [client(address)] }], ...over }));

  it.each([
    ["stale", judged("34.66.25.221"), true],
    ["held", judged("34.66.25.221", { held: HELD }), true],
    ["removed", judged("104.154.113.151", { removals: [REMOVAL] }), false],
    ["excluded", judged("34.66.25.221", { exclude: ["34.66.25.221/32"] }), false],
    ["unpublished", judged("198.51.100.7"), false],
    ["nothing denied", [], false],
  ])("%s: %s", (_, denials, expected) => {
    expect(publishedDenied(denials)).toBe(expected);
  });
});

describe("classifyDenials: a denial before the address was admitted is history", () => {
  const RUNNER = "34.66.25.221";
  const liveOnA = [
    { target: A, entries: ["34.66.25.221/32"] },
    { target: B, entries: [] },
  ];
  const deniedOn = (...targets: Array<[string, string]>) => targets.map(([target, lastSeen]) => ({ target, clients: [client(RUNNER, 3, lastSeen)] }));

  it("denied, then admitted by a run the audit trail records: still shown as stale, but not current and not a published denial", () => {
    const denials = classifyDenials(
      facts({ live: liveOnA, denied: deniedOn([A, ago(10)]), admissions: [{ target: A, entry: "34.66.25.221/32", at: ago(9) }] }),
    );
    expect(denials).toMatchObject([{ address: RUNNER, reason: "stale", current: false, instances: [{ target: A, admitted: true }] }]);
    expect(denials[0]?.detail).toMatch(/admitted since on every instance that denied it: these denials came before$/);
    expect(publishedDenied(denials)).toBe(false);
  });

  it("denied after its admission on that instance (HAProxy does not use this list): a current denial", () => {
    const denials = classifyDenials(facts({ live: liveOnA, denied: deniedOn([A, ago(5)]), admissions: [{ target: A, entry: "34.66.25.221/32", at: ago(9) }] }));
    expect(denials).toMatchObject([{ reason: "stale", current: true, instances: [{ admitted: false }] }]);
    expect(publishedDenied(denials)).toBe(true);
  });

  it("the latest admission counts: removed and added again after the denial makes it history", () => {
    const admissions = [
      { target: A, entry: "34.66.25.221/32", at: ago(60) },
      { target: A, entry: "34.66.25.221/32", at: ago(2) },
    ];
    expect(classifyDenials(facts({ live: liveOnA, denied: deniedOn([A, ago(5)]), admissions }))).toMatchObject([{ current: false }]);
  });

  it("live now with no admission known (added by hand, or before the trail): a denial before this run is history", () => {
    expect(classifyDenials(facts({ live: liveOnA, denied: deniedOn([A, ago(1)]) }))).toMatchObject([{ current: false }]);
  });

  it("an admission on another instance does not make this instance's denial history", () => {
    const denials = classifyDenials(
      facts({ live: liveOnA, denied: deniedOn([A, ago(10)], [B, ago(10)]), admissions: [{ target: A, entry: "34.66.25.221/32", at: ago(9) }] }),
    );
    expect(denials).toMatchObject([
      {
        current: true,
        instances: [
          { target: A, admitted: true },
          { target: B, admitted: false },
        ],
      },
    ]);
    expect(denials[0]?.detail).not.toContain("admitted since");
    expect(publishedDenied(denials)).toBe(true);
  });

  it("a held address denied before a later run admitted it is history too", () => {
    const denials = classifyDenials(
      facts({ live: liveOnA, held: HELD, denied: deniedOn([A, ago(10)]), admissions: [{ target: A, entry: "34.66.25.221/32", at: ago(9) }] }),
    );
    expect(denials).toMatchObject([{ reason: "held", current: false }]);
    expect(publishedDenied(denials)).toBe(false);
  });
});
