import { describe, expect, it } from "vitest";
import type { LiveEntry } from "../../../src/model/list.js";
import { computePlan, findDuplicates, hasChanges, type Ownership } from "../../../src/plan/plan.js";

const MAP: Ownership = { kind: "map", value: "travis" };
const ACL: Ownership = { kind: "acl", value: "travis" };

function live(...lines: string[]): LiveEntry[] {
  return lines.map((line, i) => {
    const [key, ...value] = line.split(" ");
    return value.length > 0 ? { ref: `0x${i}`, key: key as string, value: value.join(" ") } : { ref: `0x${i}`, key: key as string };
  });
}

describe("computePlan", () => {
  it.each([
    {
      name: "empty map: everything is added",
      live: live(),
      desired: ["1.2.3.4/32", "5.6.7.0/24"],
      ownership: MAP,
      add: ["1.2.3.4/32", "5.6.7.0/24"],
      remove: [],
    },
    {
      name: "a bare address live equals /32 desired (no churn)",
      live: live("1.2.3.4 travis"),
      desired: ["1.2.3.4/32"],
      ownership: MAP,
      add: [],
      remove: [],
    },
    {
      name: "host bits and netmasks live are canonicalised like HAProxy reads them",
      live: live("5.6.7.8/24 travis", "10.0.0.0/255.0.0.0 travis"),
      desired: ["5.6.7.0/24", "10.0.0.0/8"],
      ownership: MAP,
      add: [],
      remove: [],
    },
    {
      name: "foreign entries are never removed, even when not desired",
      live: live("10.0.0.0/8 office", "9.9.9.9 TRAVIS", "1.2.3.4 travis"),
      desired: ["1.2.3.4/32"],
      ownership: MAP,
      add: [],
      remove: [],
    },
    {
      name: "a foreign entry with a desired key does not count as owned",
      live: live("1.2.3.4 office"),
      desired: ["1.2.3.4/32"],
      ownership: MAP,
      add: ["1.2.3.4/32"],
      remove: [],
    },
    {
      name: "owned entries no longer desired are removed",
      live: live("1.2.3.4 travis", "104.154.113.151 travis"),
      desired: ["1.2.3.4/32", "34.66.25.221/32"],
      ownership: MAP,
      add: ["34.66.25.221/32"],
      remove: ["104.154.113.151/32"],
    },
    {
      name: "an owned key that does not parse is removed as read",
      live: live("not-an-ip travis"),
      desired: ["1.2.3.4/32"],
      ownership: MAP,
      add: ["1.2.3.4/32"],
      remove: ["not-an-ip"],
    },
    {
      name: "duplicates of a desired entry are neither added nor removed, only cleaned up",
      live: live("1.2.3.4 travis", "1.2.3.4/32 travis"),
      desired: ["1.2.3.4/32"],
      ownership: MAP,
      add: [],
      remove: [],
      cleanup: true,
    },
    {
      name: "with an ACL every entry is owned",
      live: live("10.0.0.0/8", "1.2.3.4"),
      desired: ["1.2.3.4/32"],
      ownership: ACL,
      add: [],
      remove: ["10.0.0.0/8"],
    },
    {
      name: "IPv6 spellings compare canonically",
      live: live("2001:DB8:0:0::1 travis"),
      desired: ["2001:db8::1/128"],
      ownership: MAP,
      add: [],
      remove: [],
    },
  ] as Array<{ name: string; live: LiveEntry[]; desired: string[]; ownership: Ownership; add: string[]; remove: string[]; cleanup?: boolean }>)(
    "$name",
    ({ live: entries, desired, ownership, add, remove, cleanup }) => {
      const plan = computePlan(entries, desired, ownership);
      expect(plan.add).toEqual(add);
      expect(plan.remove).toEqual(remove);
      expect(hasChanges(plan)).toBe(add.length + remove.length > 0 || cleanup === true);
    },
  );

  it("builds the complete next content: foreign entries as read, then owned desired entries", () => {
    const plan = computePlan(live("10.0.0.0/8 office team", "1.2.3.4 travis", "9.9.9.9 travis"), ["1.2.3.4/32", "5.6.7.8/32"], MAP);
    expect(plan.content).toEqual([
      { key: "10.0.0.0/8", value: "office team" },
      { key: "1.2.3.4/32", value: "travis" },
      { key: "5.6.7.8/32", value: "travis" },
    ]);
    expect(plan.removeEntries).toEqual([{ ref: "0x2", key: "9.9.9.9", value: "travis" }]);
    expect(plan).toMatchObject({ ownedCount: 2, foreignCount: 1 });
  });

  it("ACL content carries no values", () => {
    expect(computePlan(live("1.2.3.4"), ["5.6.7.8/32"], ACL).content).toEqual([{ key: "5.6.7.8/32" }]);
  });
});

describe("computePlan with previous values", () => {
  const MIGRATING: Ownership = { kind: "map", value: "travis", previousValues: ["travis-old"] };

  it.each([
    {
      name: "an entry under a previous value is owned, kept and rewritten, never added twice",
      live: live("1.2.3.4/32 travis-old", "10.0.0.0/8 office"),
      rewrite: ["1.2.3.4/32"],
      superseded: ["1.2.3.4/32 travis-old"],
      content: ["10.0.0.0/8 office", "1.2.3.4/32 travis"],
    },
    {
      name: "a key under both the old and the new value keeps the new copy only",
      live: live("1.2.3.4/32 travis-old", "1.2.3.4/32 travis"),
      rewrite: [],
      superseded: ["1.2.3.4/32 travis-old"],
      content: ["1.2.3.4/32 travis"],
    },
    {
      name: "an undesired entry under a previous value is removed like any owned entry",
      live: live("1.2.3.4/32 travis", "9.9.9.9/32 travis-old"),
      rewrite: [],
      superseded: [],
      content: ["1.2.3.4/32 travis"],
    },
  ])("$name", ({ live: entries, rewrite, superseded, content }) => {
    const plan = computePlan(entries, ["1.2.3.4/32"], MIGRATING);
    expect(plan.add).toEqual([]);
    expect(plan.rewrite).toEqual(rewrite);
    expect(plan.supersede.map((e) => `${e.key} ${e.value}`)).toEqual(superseded);
    expect(plan.content.map((e) => `${e.key} ${e.value}`)).toEqual(content);
    expect(hasChanges(plan)).toBe(true);
  });

  it("an entry already under the current value alone is no change", () => {
    const plan = computePlan(live("1.2.3.4/32 travis"), ["1.2.3.4/32"], MIGRATING);
    expect(hasChanges(plan)).toBe(false);
  });
});

describe("findDuplicates", () => {
  it.each([
    { name: "one key under two values", live: live("1.2.3.4 travis", "1.2.3.4/32 office"), expected: [{ entry: "1.2.3.4/32", values: ["office", "travis"] }] },
    {
      name: "the same, foreign copy first",
      live: live("1.2.3.4/32 office", "1.2.3.4 travis"),
      expected: [{ entry: "1.2.3.4/32", values: ["office", "travis"] }],
    },
    {
      name: "two foreign values",
      live: live("1.2.3.4 a", "1.2.3.4/32 b", "1.2.3.4 travis"),
      expected: [{ entry: "1.2.3.4/32", values: ["a", "b", "travis"] }],
    },
    { name: "the same value twice is no duplicate", live: live("1.2.3.4 travis", "1.2.3.4/32 travis"), expected: [] },
    {
      name: "three values, one repeated",
      live: live("5.6.7.0/24 a", "5.6.7.0/24 a", "5.6.7.0/24 b", "5.6.7.0/24 c"),
      expected: [{ entry: "5.6.7.0/24", values: ["a", "b", "c"] }],
    },
    { name: "different keys", live: live("1.2.3.4 a", "1.2.3.5 b"), expected: [] },
  ])("$name", ({ live: entries, expected }) => {
    expect(findDuplicates(entries, { kind: "map", value: "travis" })).toEqual(expected);
  });
});
