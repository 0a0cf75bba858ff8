import { describe, expect, it } from "vitest";
import { canonicalise } from "../../../src/model/cidr.js";
import { buildDesiredSet, type DesiredRules } from "../../../src/sources/desired.js";
import type { SourceResult } from "../../../src/sources/types.js";

const RULES: DesiredRules = { exclude: [], minPrefixV4: 16, minPrefixV6: 32, allowReserved: false };

function source(name: string, values: string[], hostname?: string): SourceResult {
  return { name, type: "static", durationMs: 0, published: [{ provenance: { source: name, ...(hostname ? { hostname } : {}) }, values }] };
}

describe("buildDesiredSet", () => {
  it("unions sources, canonicalises and keeps every provenance", async () => {
    const set = await buildDesiredSet([source("dns", ["34.66.25.221", "35.188.1.99"], "nat.travisci.net"), source("pinned", ["34.66.25.221/32"])], RULES);
    expect(set.entries.map((e) => e.cidr.text)).toEqual(["34.66.25.221/32", "35.188.1.99/32"]);
    expect(set.entries[0]?.provenance.map((p) => p.source)).toEqual(["dns", "pinned"]);
    expect(set.rejected).toEqual([]);
  });

  it("sorts numerically, IPv4 before IPv6, and digests independently of order", async () => {
    const a = await buildDesiredSet([source("s", ["104.1.1.1", "34.1.1.1", "2600:1f18::/32", "35.1.1.1"])], RULES);
    const b = await buildDesiredSet([source("s", ["35.1.1.1", "2600:1f18::/32", "34.1.1.1", "104.1.1.1"])], RULES);
    expect(a.entries.map((e) => e.cidr.text)).toEqual(["34.1.1.1/32", "35.1.1.1/32", "104.1.1.1/32", "2600:1f18::/32"]);
    expect(a.digest).toBe(b.digest);
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it.each([
    ["1.2.3.4;clear map /m", "not an IPv4 address"],
    ["1.2.3.4\nshow info", "not an IPv4 address"],
    ["1.2.3.4 <<", "not an IPv4 address"],
    ["34.66.25.221/24", "host bits set"],
    ["0.0.0.0/0", "broader than /16"],
    ["34.0.0.0/8", "broader than /16"],
    ["2600::/16", "broader than /32"],
    ["127.0.0.1", "loopback"],
    ["10.1.2.3", "private"],
    ["203.0.113.7", "documentation"],
    ["<!DOCTYPE html>", "not an IPv4 address"],
  ])("rejects %j naming the source (%s)", async (value, reason) => {
    const set = await buildDesiredSet([source("feed", [value, "34.66.25.221"])], RULES);
    expect(set.rejected).toEqual([{ source: "feed", value, reason: expect.stringContaining(reason) }]);
  });

  it("allows reserved ranges only when allowReserved is set, never a too-broad prefix", async () => {
    const set = await buildDesiredSet([source("s", ["127.0.0.21", "10.0.0.0/8"])], { ...RULES, allowReserved: true });
    expect(set.entries.map((e) => e.cidr.text)).toEqual(["127.0.0.21/32"]);
    expect(set.rejected.map((r) => r.value)).toEqual(["10.0.0.0/8"]);
  });

  it("drops excluded entries and narrows a range around an excluded address", async () => {
    const set = await buildDesiredSet([source("s", ["35.231.58.0", "34.66.25.220/30"])], { ...RULES, exclude: ["35.231.58.0/32", "34.66.25.221/32"] });
    expect(set.entries.map((e) => e.cidr.text)).toEqual(["34.66.25.220/32", "34.66.25.222/31"]);
    expect(set.excluded).toEqual([
      { entry: "35.231.58.0/32", by: "35.231.58.0/32" },
      { entry: "34.66.25.220/30", by: "34.66.25.221/32" },
    ]);
  });

  it.each([
    ["::/32", "admits every IPv4 client as 0.0.0.0/0 through IPv4-mapped IPv6 (::ffff:0:0/96); broader than /16 (guards.minPrefixV4)"],
    ["::/0", "admits every IPv4 client as 0.0.0.0/0 through IPv4-mapped IPv6 (::ffff:0:0/96)"],
    ["::/80", "admits every IPv4 client as 0.0.0.0/0"],
    ["::ffff:0:0/96", "broader than /16 (guards.minPrefixV4)"],
    ["::ffff:127.0.0.0/104", "broader than /16 (guards.minPrefixV4)"],
    ["0:0:0:0:0:ffff:7f00:0/104", "broader than /16 (guards.minPrefixV4)"],
    ["::ffff:1.2.3.4/120", "host bits set (network is 1.2.3.0/24)"],
  ])("rejects the IPv4-mapped range %s even with allowReserved (%s)", async (value, reason) => {
    const set = await buildDesiredSet([source("feed", [value, "34.66.25.221"])], { ...RULES, allowReserved: true });
    expect(set.rejected).toEqual([{ source: "feed", value, reason: expect.stringContaining(reason) }]);
    expect(set.entries.map((e) => e.cidr.text)).toEqual(["34.66.25.221/32"]);
  });

  it.each([
    ["::ffff:127.0.0.1", "loopback (127.0.0.0/8)"],
    ["::ffff:10.1.2.3", "private (10.0.0.0/8)"],
    ["::fffe:0:0/95", "admits every IPv4 client"],
  ])("judges %s on the IPv4 clients it admits (%s)", async (value, reason) => {
    const set = await buildDesiredSet([source("feed", [value])], RULES);
    expect(set.rejected).toEqual([{ source: "feed", value, reason: expect.stringContaining(reason) }]);
  });

  it("keeps an IPv4-mapped address as its IPv4 entry, one key whatever the spelling", async () => {
    const set = await buildDesiredSet(
      [source("a", ["::ffff:127.0.0.21", "127.0.0.21"]), source("b", ["0:0:0:0:0:ffff:7f00:15", "::FFFF:127.0.0.21/128", "::ffff:34.66.0.0/112"])],
      { ...RULES, allowReserved: true },
    );
    expect(set.entries.map((e) => e.cidr.text)).toEqual(["34.66.0.0/16", "127.0.0.21/32"]);
    expect(set.entries[1]?.cidr.family).toBe(4);
    expect(set.entries[1]?.provenance.map((p) => p.source)).toEqual(["a", "a", "b", "b"]);
    expect(set.rejected).toEqual([]);
    expect(set.digest).toBe((await buildDesiredSet([source("c", ["127.0.0.21", "34.66.0.0/16"])], { ...RULES, allowReserved: true })).digest);
  });

  it.each([
    ["127.0.0.21/32", "::ffff:127.0.0.21/128"],
    ["::ffff:127.0.0.21", "127.0.0.21"],
    ["127.0.0.0/8", "::ffff:127.0.0.21"],
  ])("exclude %s removes the source entry %s", async (hole, value) => {
    const set = await buildDesiredSet([source("s", [value, "34.66.25.221"])], { ...RULES, allowReserved: true, exclude: [hole] });
    expect(set.entries.map((e) => e.cidr.text)).toEqual(["34.66.25.221/32"]);
    expect(set.excluded).toEqual([{ entry: "127.0.0.21/32", by: canonicalise(hole) }]);
    expect(set.rejected).toEqual([]);
  });

  it("narrows an IPv4-mapped range around an excluded IPv4 address", async () => {
    const set = await buildDesiredSet([source("s", ["::ffff:34.66.25.220/126"])], { ...RULES, exclude: ["34.66.25.221"] });
    expect(set.entries.map((e) => e.cidr.text)).toEqual(["34.66.25.220/32", "34.66.25.222/31"]);
  });

  it("an excluded reserved value is not a rejection", async () => {
    const set = await buildDesiredSet([source("s", ["127.0.0.1", "34.66.25.221"])], { ...RULES, exclude: ["127.0.0.0/8"] });
    expect(set.rejected).toEqual([]);
    expect(set.entries).toHaveLength(1);
  });
});

describe("buildDesiredSet on a large feed", () => {
  it("gives the event loop turns while it judges, so that a run's deadline can fire", async () => {
    const values = Array.from({ length: 50_000 }, (_, i) => `34.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    let turns = 0;
    let counting = true;
    const count = () => {
      if (!counting) return;
      turns++;
      setImmediate(count);
    };
    setImmediate(count);
    const set = await buildDesiredSet([source("feed", values)], RULES);
    counting = false;
    expect(set.entries).toHaveLength(50_000);
    // One turn at least every 8,192 values; judged in one go, the counter would not have run once.
    expect(turns).toBeGreaterThanOrEqual(6);
  });

  it("shares one provenance list between the entries of one origin, and gives an entry with two origins its own", async () => {
    const set = await buildDesiredSet([source("feed", ["34.1.1.1", "34.1.1.2", "34.1.1.3"]), source("pinned", ["34.1.1.2"])], RULES);
    const [first, second, third] = set.entries;
    expect(first?.provenance).toBe(third?.provenance);
    expect(first?.provenance.map((p) => p.source)).toEqual(["feed"]);
    expect(second?.provenance.map((p) => p.source)).toEqual(["feed", "pinned"]);
  });

  it("sorts a large unordered feed numerically, prefixes of one network in order", async () => {
    const values = Array.from({ length: 20_000 }, (_, i) => `34.${((i * 7919) >> 8) & 255}.${(i * 7919) & 255}.0/24`);
    const set = await buildDesiredSet([source("feed", [...values, "34.0.0.0/16", "34.0.0.0/17"])], RULES);
    const keys = set.entries.map((e) => Number(e.cidr.network) * 64 + e.cidr.prefix);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    expect(set.entries.slice(0, 3).map((e) => e.cidr.text)).toEqual(["34.0.0.0/16", "34.0.0.0/17", "34.0.0.0/24"]);
  });
});

describe("buildDesiredSet judges each value as published, before exclude cuts it", () => {
  it.each([
    ["127.0.0.0/15", "broader than /16 (guards.minPrefixV4)"],
    ["::ffff:0:0/96", "broader than /16 (guards.minPrefixV4) (read as 0.0.0.0/0: IPv4-mapped IPv6 admits IPv4 clients)"],
    ["10.0.0.0/16", "reserved range: private (10.0.0.0/8) (guards.allowReserved is false)"],
  ])("%s with an exclude inside it is refused once, whole", async (value, reason) => {
    const set = await buildDesiredSet([{ name: "feed", type: "static", published: [{ provenance: { source: "feed" }, values: [value] }], durationMs: 0 }], {
      exclude: ["127.0.1.7/32", "10.0.1.7/32"],
      minPrefixV4: 16,
      minPrefixV6: 32,
      allowReserved: value !== "10.0.0.0/16",
    });
    expect(set.rejected).toEqual([{ source: "feed", value, reason }]);
    expect(set.entries).toEqual([]);
  });
});
