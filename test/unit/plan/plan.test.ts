import { describe, expect, it } from "vitest";
import type { LiveEntry } from "../../../src/haproxy/protocol.js";
import { computePlan, hasChanges, type Ownership } from "../../../src/plan/plan.js";

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
      name: "duplicates of a desired entry are not churn",
      live: live("1.2.3.4 travis", "1.2.3.4/32 travis"),
      desired: ["1.2.3.4/32"],
      ownership: MAP,
      add: [],
      remove: [],
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
  ])("$name", ({ live: entries, desired, ownership, add, remove }) => {
    const plan = computePlan(entries, desired, ownership);
    expect(plan.add).toEqual(add);
    expect(plan.remove).toEqual(remove);
    expect(hasChanges(plan)).toBe(add.length + remove.length > 0);
  });

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
