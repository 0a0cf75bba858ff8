import { afterEach, describe, expect, it } from "vitest";
import { HaproxyInstance } from "../../src/haproxy/runtime.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

const OPTIONS = { timeoutMs: 3000 };
const running: RunningHaproxy[] = [];
const open: HaproxyInstance[] = [];

async function haproxy(kind: "map" | "acl", entries: string[] = []): Promise<RunningHaproxy> {
  const h = await startHaproxy({ kind, entries });
  running.push(h);
  return h;
}

async function connect(target: string): Promise<HaproxyInstance> {
  const instance = await HaproxyInstance.connect(target, OPTIONS);
  open.push(instance);
  return instance;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()));
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

describe("HaproxyInstance", () => {
  it.each(["map", "acl"] as const)("a %s version prepared and then abandoned (another writer edited the list) is cleared, not left in memory", async (kind) => {
    const h = await haproxy(kind, kind === "map" ? ["127.0.0.5 office"] : ["127.0.0.5"]);
    const instance = await connect(h.unixTarget);
    const { snapshot } = await instance.readList(kind, h.listFile);
    await h.command(kind === "map" ? `add map ${h.listFile} 127.0.0.99 office` : `add acl ${h.listFile} 127.0.0.99`);
    const content = Array.from({ length: 50 }, (_, i) => (kind === "map" ? { key: `34.66.0.${i}/32`, value: "travis" } : { key: `34.66.0.${i}/32` }));
    await expect(instance.replace(kind, h.listFile, content, snapshot)).rejects.toMatchObject({ code: "E_HAPROXY_CONFLICT" });
    expect(await liveEntries(h)).toHaveLength(2);
    // entry_cnt counts staged versions too. HAProxy 2.x drops the cleared version at once; 3.4 answers the
    // clear but keeps the version until the next commit purges it.
    if (h.version.startsWith("2.")) expect(await h.command(`show ${kind}`)).toMatch(/entry_cnt=2\b/);
    const fresh = await instance.readList(kind, h.listFile);
    await instance.replace(
      kind,
      h.listFile,
      [...fresh.entries.map(({ key, value }) => (value === undefined ? { key } : { key, value })), ...content],
      fresh.snapshot,
    );
    expect(await h.command(`show ${kind}`)).toMatch(/entry_cnt=52\b/);
  });

  it("connects over unix and TCP sockets and reads the version", async () => {
    const h = await haproxy("map");
    for (const target of [h.unixTarget, h.tcpTarget]) {
      const instance = await connect(target);
      expect(instance.version).toBe(h.version);
      expect(instance.transactional).toBe(true);
    }
  });

  it("reads map entries with values and ACL patterns", async () => {
    const map = await haproxy("map", ["1.2.3.4 travis", "10.0.0.0/8 office team"]);
    const { entries } = await (await connect(map.unixTarget)).readList("map", map.listFile);
    expect(entries.map(({ key, value }) => ({ key, value }))).toEqual([
      { key: "1.2.3.4", value: "travis" },
      { key: "10.0.0.0/8", value: "office team" },
    ]);
    const acl = await haproxy("acl", ["1.2.3.4", "2001:db8::/32"]);
    expect((await (await connect(acl.unixTarget)).readList("acl", acl.listFile)).entries.map((e) => e.key)).toEqual(["1.2.3.4", "2001:db8::/32"]);
  });

  it("names the loaded files when the configured map is not loaded", async () => {
    const h = await haproxy("map");
    await expect((await connect(h.unixTarget)).readList("map", "/etc/haproxy/other.map")).rejects.toMatchObject({
      code: "E_HAPROXY_UNKNOWN_MAP",
      message: expect.stringContaining(h.listFile),
    });
  });

  it.each([
    ["a missing socket", (h: RunningHaproxy) => `unix://${h.dir}/nope.sock`, "does not exist"],
    ["a closed port", () => "tcp://127.0.0.1:1", "refused"],
  ])("fails clearly on %s", async (_name, target, text) => {
    const h = await haproxy("map");
    await expect(HaproxyInstance.connect(target(h), OPTIONS)).rejects.toMatchObject({ code: "E_HAPROXY_CONNECT", message: expect.stringContaining(text) });
  });

  it("replaces a map in one transaction, keeping foreign entries and the traffic rule working", async () => {
    const h = await haproxy("map", ["127.0.0.5 office", "127.0.0.9 travis"]);
    const instance = await connect(h.unixTarget);
    const outcome = await instance.replace("map", h.listFile, [
      { key: "127.0.0.5", value: "office" },
      { key: "127.0.0.21/32", value: "travis" },
    ]);
    expect(outcome.mode).toBe("transaction");
    expect(await liveEntries(h)).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
    expect(await h.statusFrom("127.0.0.21")).toBe(200);
    expect(await h.statusFrom("127.0.0.5")).toBe(200);
    expect(await h.statusFrom("127.0.0.9")).toBe(403);
  });

  it("replaces an ACL entry by entry (ACLs take no payload)", async () => {
    const h = await haproxy("acl", ["127.0.0.9"]);
    const content = Array.from({ length: 300 }, (_, i) => ({ key: `127.0.${1 + (i >> 8)}.${i & 255}/32` }));
    await (await connect(h.tcpTarget)).replace("acl", h.listFile, [...content, { key: "127.0.0.21/32" }]);
    const live = await liveEntries(h);
    expect(live).toHaveLength(301);
    expect(live).not.toContain("127.0.0.9");
    expect(await h.statusFrom("127.0.0.21")).toBe(200);
    expect(await h.statusFrom("127.0.0.9")).toBe(403);
  });

  it("loads 20,000 map entries in chunked payloads", async () => {
    const h = await haproxy("map", ["127.0.0.5 office"]);
    const content = Array.from({ length: 20_000 }, (_, i) => ({ key: `34.${i >> 8}.${i & 255}.0/24`, value: "travis" }));
    await (await connect(h.unixTarget)).replace("map", h.listFile, [{ key: "127.0.0.5", value: "office" }, ...content]);
    expect(await liveEntries(h)).toHaveLength(20_001);
  });

  it("applies incrementally (HAProxy < 2.4): adds first, then deletes by reference only the owned entry", async () => {
    const h = await haproxy("map", ["127.0.0.9 office", "127.0.0.9 travis"]);
    const instance = await connect(h.unixTarget);
    const owned = (await instance.readList("map", h.listFile)).entries.filter((e) => e.value === "travis");
    await instance.applyIncremental("map", h.listFile, [{ key: "127.0.0.21/32", value: "travis" }], owned);
    expect(await liveEntries(h)).toEqual(["127.0.0.21/32 travis", "127.0.0.9 office"]);
  });

  it("never commits a prepared version that another writer disturbed", async () => {
    const h = await haproxy("map", ["127.0.0.5 office"]);
    const [a, b] = [await connect(h.unixTarget), await connect(h.tcpTarget)];
    const big = (n: number, third: number) => Array.from({ length: n }, (_, i) => ({ key: `34.${third}.${i >> 8}.${i & 255}/32`, value: "travis" }));
    const contentA = [{ key: "127.0.0.5", value: "office" }, ...big(3000, 1)];
    const contentB = [{ key: "127.0.0.5", value: "office" }, ...big(3000, 2)];
    const outcomes = await Promise.allSettled([a.replace("map", h.listFile, contentA), b.replace("map", h.listFile, contentB)]);
    const live = await liveEntries(h);
    const expected = (content: typeof contentA) => content.map((e) => `${e.key} ${e.value}`).sort();
    // Whatever interleaving happened, the live map is one complete set, never a mix or empty.
    expect([expected(contentA), expected(contentB), ["127.0.0.5 office"]]).toContainEqual(live);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected")
        expect(outcome.reason).toMatchObject({ code: expect.stringMatching(/^E_HAPROXY_(CONFLICT|VERIFY|COMMIT|ADD)$/), liveState: "unchanged" });
    }
  });

  it("refuses to send an unsafe key and leaves the map untouched", async () => {
    const h = await haproxy("map", ["127.0.0.5 travis"]);
    const instance = await connect(h.unixTarget);
    await expect(instance.replace("map", h.listFile, [{ key: "127.0.0.6;clear map " + h.listFile, value: "travis" }])).rejects.toMatchObject({
      code: "E_UNSAFE_TEXT",
    });
    expect(await liveEntries(h)).toEqual(["127.0.0.5 travis"]);
    expect(await h.command("show map")).toContain("next_ver=0");
  });
});
