import { describe, expect, it } from "vitest";
import type { LiveEntry, MatchAnswer } from "../../../src/model/list.js";
import { exposureProbes, judgeProbes, tooBroadEntries } from "../../../src/plan/exposure.js";
import type { Ownership } from "../../../src/plan/plan.js";

const MAP: Ownership = { kind: "map", value: "travis", previousValues: ["travis-old"] };
/** maxAddresses out of the way: these tables judge each entry alone. */
const RULES = { minPrefixV4: 16, minPrefixV6: 32, maxAddresses: Number.MAX_SAFE_INTEGER };

describe("exposureProbes", () => {
  it("asks about both ends of every excluded range and the first address of each removed entry", () => {
    expect(exposureProbes(["35.231.58.0/31", "2001:db8::/127"], ["34.66.25.221/32", "104.154.0.0/24"]).probes).toEqual([
      { address: "35.231.58.0", reason: "excluded" },
      { address: "35.231.58.1", reason: "excluded" },
      { address: "2001:db8::", reason: "excluded" },
      { address: "2001:db8::1", reason: "excluded" },
      { address: "34.66.25.221", reason: "removed" },
      { address: "104.154.0.0", reason: "removed" },
    ]);
  });

  it("bounds the removed addresses it asks about and counts the rest; excluded ones are always asked", () => {
    const removed = Array.from({ length: 10 }, (_, i) => `34.66.25.${i}/32`);
    const { probes, skipped } = exposureProbes(["35.231.58.7/32"], removed, [], 4);
    expect(probes.map((p) => p.address)).toEqual(["35.231.58.7", "34.66.25.0", "34.66.25.1", "34.66.25.2", "34.66.25.3"]);
    expect(skipped).toBe(6);
  });
});

describe("exposureProbes inside ranges", () => {
  it("asks about live entries that lie inside an excluded or removed range, which the range's ends would miss", () => {
    const live = [{ key: "127.0.2.64/26" }, { key: "127.0.5.128/25" }, { key: "127.0.5.0/24" }, { key: "127.0.9.9" }];
    expect(exposureProbes(["127.0.2.0/24"], ["127.0.5.0/24"], live).probes).toEqual([
      { address: "127.0.2.0", reason: "excluded" },
      { address: "127.0.2.255", reason: "excluded" },
      { address: "127.0.5.0", reason: "removed" },
      { address: "127.0.2.64", reason: "excluded" },
      { address: "127.0.5.128", reason: "removed" },
    ]);
  });
});

describe("judgeProbes", () => {
  const answer = (address: string, key: string | null, value: string | null): MatchAnswer => ({ address, found: key !== null, key, value });
  const probes = [
    { address: "35.231.58.7", reason: "excluded" as const },
    { address: "34.66.25.221", reason: "removed" as const },
    { address: "34.66.25.222", reason: "removed" as const },
    { address: "34.66.25.223", reason: "removed" as const },
  ];

  it.each([
    {
      name: "an excluded address admitted by a foreign range",
      answers: [
        answer("35.231.58.7", "35.231.58.0/24", "office"),
        answer("34.66.25.221", null, null),
        answer("34.66.25.222", null, null),
        answer("34.66.25.223", null, null),
      ],
      expected: [{ address: "35.231.58.7", entry: "35.231.58.0/24", value: "office", owner: "foreign", reason: "excluded" }],
    },
    {
      name: "a removed address admitted by this tool's desired range is fine; by a stale owned or a foreign entry it is not",
      answers: [
        answer("35.231.58.7", null, null),
        answer("34.66.25.221", "34.66.25.0/24", "travis"),
        answer("34.66.25.222", "34.66.25.222", "travis-old"),
        answer("34.66.25.223", "34.66.0.0/16", "office"),
      ],
      expected: [
        { address: "34.66.25.222", entry: "34.66.25.222/32", key: "34.66.25.222", value: "travis-old", owner: "self", reason: "removed" },
        { address: "34.66.25.223", entry: "34.66.0.0/16", value: "office", owner: "foreign", reason: "removed" },
      ],
    },
  ])("$name", ({ answers, expected }) => {
    expect(judgeProbes(probes, answers, { ownership: MAP, settled: new Set(["34.66.25.0/24"]) })).toEqual(expected);
  });
});

describe("tooBroadEntries", () => {
  const entries: LiveEntry[] = [
    { ref: "0x1", key: "0.0.0.0/1", value: "office" },
    { ref: "0x2", key: "34.0.0.0/8", value: "travis" },
    { ref: "0x3", key: "34.66.0.0/16", value: "office" },
    { ref: "0x4", key: "::/32", value: "evil" },
    { ref: "0x5", key: "::ffff:0:0/96", value: "evil" },
    { ref: "0x6", key: "2600:1900::/28", value: "office" },
    { ref: "0x7", key: "2600:1900::/32", value: "office" },
  ];

  it("flags every live entry, owned or foreign, broader than the prefix guards, IPv6 judged by the IPv4 clients it admits", () => {
    expect(tooBroadEntries(entries, RULES, MAP).map((e) => [e.entry, e.key, e.owner, e.address])).toEqual([
      ["0.0.0.0/1", undefined, "foreign", "0.0.0.0"],
      ["34.0.0.0/8", undefined, "self", "34.0.0.0"],
      ["::/32", undefined, "foreign", "0.0.0.0"],
      ["0.0.0.0/0", "::ffff:0:0/96", "foreign", "0.0.0.0"],
      ["2600:1900::/28", undefined, "foreign", "2600:1900::"],
    ]);
  });
});

describe("tooBroadEntries: the live list as a whole", () => {
  const slash16s = (n: number, value: string): LiveEntry[] => Array.from({ length: n }, (_, i) => ({ ref: `0x${i}`, key: `34.${i}.0.0/16`, value }));
  const rules = { minPrefixV4: 16, minPrefixV6: 32, maxAddresses: 65_536 };

  it("names the total, the limit and the broadest entries when narrow-enough entries together admit more than maxAddresses", () => {
    const live: LiveEntry[] = [
      { ref: "0xa", key: "104.197.1.1", value: "travis" },
      ...slash16s(2, "office"),
      { ref: "0xb", key: "35.1.0.0/17", value: "travis" },
    ];
    expect(tooBroadEntries(live, rules, MAP)).toEqual([
      {
        address: "34.0.0.0",
        entry: "34.0.0.0/16",
        value: "office",
        owner: "foreign",
        reason: "too-broad",
        detail:
          "the 4 live entries within the prefix guards together admit 163841 IPv4 addresses, more than 65536 (guards.maxAddresses); broadest: 34.0.0.0/16 (65536), 34.1.0.0/16 (65536), 35.1.0.0/17 (32768), 104.197.1.1/32 (1)",
      },
    ]);
  });

  it("counts an entry inside another once: a /16 and the /24s within it admit 65536 addresses", () => {
    const live: LiveEntry[] = [
      { ref: "0x1", key: "34.66.0.0/16", value: "travis" },
      ...Array.from({ length: 256 }, (_, i) => ({ ref: `0x${i + 2}`, key: `34.66.${i}.0/24`, value: "office" })),
    ];
    expect(tooBroadEntries(live, rules, MAP)).toEqual([]);
    expect(tooBroadEntries(live, { ...rules, maxAddresses: 65_535 }, MAP).map((e) => e.detail)).toEqual([
      expect.stringContaining("the 257 live entries within the prefix guards together admit 65536 IPv4 addresses, more than 65535"),
    ]);
  });

  it("does not count again an entry too broad on its own: flagged alone, and the rest judged together", () => {
    const broad: LiveEntry = { ref: "0x1", key: "34.0.0.0/8", value: "travis" };
    expect(tooBroadEntries([broad, ...slash16s(1, "office")], rules, MAP).map((e) => [e.entry, e.owner, e.detail])).toEqual([
      ["34.0.0.0/8", "self", undefined],
    ]);
    expect(tooBroadEntries([broad, ...slash16s(2, "office")], rules, MAP).map((e) => [e.entry, e.owner, e.detail])).toEqual([
      ["34.0.0.0/8", "self", undefined],
      [
        "34.0.0.0/16",
        "foreign",
        "the 2 live entries within the prefix guards together admit 131072 IPv4 addresses, more than 65536 (guards.maxAddresses); broadest: 34.0.0.0/16 (65536), 34.1.0.0/16 (65536)",
      ],
    ]);
  });

  it("counts IPv6 entries in /64 networks against the same limit", () => {
    const live: LiveEntry[] = [
      { ref: "0x1", key: "2600:1900::/48", value: "office" },
      { ref: "0x2", key: "34.66.25.221", value: "travis" },
    ];
    expect(tooBroadEntries(live, rules, MAP).map((e) => [e.entry, e.address, e.detail])).toEqual([
      [
        "2600:1900::/48",
        "2600:1900::",
        "the 2 live entries within the prefix guards together admit 1 IPv4 address and 65536 IPv6 /64 networks, more than 65536 (guards.maxAddresses); broadest: 2600:1900::/48 (65536), 34.66.25.221/32 (1)",
      ],
    ]);
  });

  it("a list at the limit exactly is no exposure", () => {
    expect(tooBroadEntries(slash16s(1, "office"), rules, MAP)).toEqual([]);
  });
});
