import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/record.js";
import type { Config } from "../../src/config/schema.js";
import { inspect } from "../../src/reconcile/status.js";
import { shownStatus } from "../../src/cli/render/run.js";
import { absenceStatePath } from "../../src/state/absence-store.js";
import { testConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { realDeps, syncOnce } from "../support/reconcile.js";

const MINUTE = 60_000;
const T0 = Date.parse("2026-11-26T18:00:00.000Z");
/** Loopback "Travis" addresses, so that real requests from them can be made. */
const STABLE = ["127.0.0.21", "127.0.0.22", "127.0.0.23"];
const FLAPPING = ["127.0.0.31", "127.0.0.32"];
let dns: RunningDnsServer;
let h: RunningHaproxy;

beforeAll(async () => {
  dns = await startDnsServer({ zones: {} });
});
afterAll(() => dns.stop());
afterEach(async () => {
  await h.stop();
});

async function setup(): Promise<Config> {
  dns.zones["nat.travisci.net"] = { A: [...STABLE, ...FLAPPING] };
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
  const config = testConfig({ resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, extra: { guards: { removeAfter: "1h" } } });
  expect((await syncOnce(config, {}, { now: () => new Date(T0) })).exitCode).toBe(0);
  return config;
}

/** A run at T0 + minutes, with the clock passed in. */
const runAt = (config: Config, minutes: number, options = {}) => syncOnce(config, options, { now: () => new Date(T0 + minutes * MINUTE) });
const version = async () => /curr_ver=(\d+)/.exec(await h.command("show map"))?.[1];
const records = async (config: Config) =>
  (await readFile(config.audit.path, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);

describe("removal grace period", () => {
  it("a DNS answer that drops two addresses for one run changes nothing in HAProxy and denies nobody", async () => {
    const config = await setup();
    const before = { entries: await liveEntries(h), version: await version() };

    dns.zones["nat.travisci.net"] = { A: STABLE };
    const flap = await runAt(config, 10);
    expect(flap.exitCode).toBe(0);
    expect(flap.instances[0]).toMatchObject({
      status: "in-sync",
      remove: [],
      pendingRemoval: FLAPPING.map((a) => ({ entry: `${a}/32`, removeAt: new Date(T0 + 70 * MINUTE).toISOString() })),
    });
    expect({ entries: await liveEntries(h), version: await version() }).toEqual(before);
    for (const address of FLAPPING) expect(await h.statusFrom(address)).toBe(200);
    expect((await records(config)).at(-1)?.instances[0]?.pendingRemoval).toHaveLength(2);

    dns.zones["nat.travisci.net"] = { A: [...STABLE, ...FLAPPING] };
    const back = await runAt(config, 20);
    expect(back.instances[0]).toMatchObject({ status: "in-sync", pendingRemoval: [] });
    expect(await version()).toBe(before.version);
    // Gone and back once is one flap.
    expect(back.flaps).toEqual(Object.fromEntries(FLAPPING.map((a) => [`${a}/32`, 1])));

    const report = shownStatus(await inspect(config, { ...realDeps(config), now: () => new Date(T0 + 30 * MINUTE) }), { detailedExitcode: true });
    expect(report).toMatchObject({ inSync: true, flaps: Object.fromEntries(FLAPPING.map((a) => [`${a}/32`, 1])) });
  });

  it("an address absent longer than the period is removed", async () => {
    const config = await setup();
    dns.zones["nat.travisci.net"] = { A: STABLE };
    expect((await runAt(config, 0)).instances[0]?.pendingRemoval).toHaveLength(2);
    const status = shownStatus(await inspect(config, { ...realDeps(config), now: () => new Date(T0 + 30 * MINUTE) }), { detailedExitcode: true });
    expect(status.instances[0]).toMatchObject({ inSync: true, unexpected: [], pendingRemoval: [{ entry: "127.0.0.31/32" }, { entry: "127.0.0.32/32" }] });
    expect((await runAt(config, 59)).instances[0]?.status).toBe("in-sync");
    const removed = await runAt(config, 61);
    expect(removed.instances[0]).toMatchObject({ status: "applied", remove: FLAPPING.map((a) => `${a}/32`), pendingRemoval: [] });
    for (const address of FLAPPING) expect(await h.statusFrom(address)).toBe(403);
  });

  it("exclude removes at once", async () => {
    const config = await setup();
    const excluded = { ...config, exclude: ["127.0.0.31/32"] };
    const result = await runAt(excluded, 1);
    expect(result.instances[0]).toMatchObject({ status: "applied", remove: ["127.0.0.31/32"], pendingRemoval: [] });
    expect(await h.statusFrom("127.0.0.31")).toBe(403);
  });

  it("a source deleted from the config removes its entries at once", async () => {
    dns.zones["nat.travisci.net"] = { A: STABLE };
    h = await startHaproxy({ kind: "map" });
    const both = testConfig({
      resolver: dns.resolver,
      staticEntries: ["127.0.0.40"],
      sockets: [h.unixTarget],
      map: h.listFile,
      extra: { guards: { removeAfter: "1h" } },
    });
    await runAt(both, 0);
    expect(await h.statusFrom("127.0.0.40")).toBe(200);
    const withoutPinned = { ...both, sources: both.sources.filter((s) => s.name !== "pinned") };
    const result = await runAt(withoutPinned, 1);
    expect(result.instances[0]).toMatchObject({ status: "applied", remove: ["127.0.0.40/32"] });
    expect(await h.statusFrom("127.0.0.40")).toBe(403);
  });

  it.each([
    ["deleted", (path: string) => rm(path)],
    ["garbled", (path: string) => writeFile(path, "{not json")],
  ])("a state file %s between runs is reported, rebuilt, and removes nothing by itself", async (_name, damage) => {
    const config = await setup();
    dns.zones["nat.travisci.net"] = { A: STABLE };
    await runAt(config, 0);
    await damage(absenceStatePath(dirname(config.audit.path), h.listFile));
    const result = await runAt(config, 120);
    expect(result.stateNotice).toMatch(/: 2 owned entries absent upstream keep the grace period/);
    expect(result.instances[0]).toMatchObject({ status: "in-sync", remove: [] });
    expect(result.instances[0]?.pendingRemoval.map((p) => p.removeAt)).toEqual([
      new Date(T0 + 180 * MINUTE).toISOString(),
      new Date(T0 + 180 * MINUTE).toISOString(),
    ]);
    for (const address of FLAPPING) expect(await h.statusFrom(address)).toBe(200);
    expect((await records(config)).at(-1)?.stateNotice).toBe(result.stateNotice);
  });

  it("--force does not skip the period; --no-grace does and is recorded", async () => {
    const config = await setup();
    dns.zones["nat.travisci.net"] = { A: STABLE };
    expect((await runAt(config, 1, { force: true })).instances[0]?.pendingRemoval).toHaveLength(2);
    const result = await runAt(config, 2, { noGrace: true });
    expect(result).toMatchObject({ noGrace: true, instances: [{ status: "applied", remove: FLAPPING.map((a) => `${a}/32`) }] });
    expect((await records(config)).at(-1)).toMatchObject({ event: "applied", noGrace: true });
  });

  it("several instances share one state per map", async () => {
    const config = await setup();
    const second = await startHaproxy({
      kind: "map",
      entries: ["127.0.0.5 office"],
      listFile: h.listFile,
      socketName: "second.sock",
      dir: join(dirname(h.listFile)),
    });
    try {
      const both = { ...config, haproxy: { ...config.haproxy, sockets: [h.unixTarget, second.unixTarget] } };
      expect((await runAt(both, 1)).instances.map((i) => i.status)).toEqual(["in-sync", "applied"]);
      dns.zones["nat.travisci.net"] = { A: STABLE };
      const result = await runAt(both, 2);
      expect(result.instances.map((i) => i.pendingRemoval.length)).toEqual([2, 2]);
      const state = JSON.parse(await readFile(absenceStatePath(dirname(config.audit.path), h.listFile), "utf8")) as {
        provenance: Array<{ sources: string[]; entries: string[] }>;
        entries: Record<string, unknown>;
      };
      expect(state.provenance.flatMap((g) => g.entries).sort()).toEqual([...STABLE, ...FLAPPING].map((a) => `${a}/32`).sort());
      expect(Object.keys(state.entries).sort()).toEqual(FLAPPING.map((a) => `${a}/32`));
    } finally {
      await second.stop();
    }
  });
});
