import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { RunResult } from "../../src/model/result.js";
import { configDocument, testConfig } from "../support/config.js";
import { startDnsServer } from "../support/dns-server.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { type GiantMapRuntime, startGiantMapRuntime, startHostileRuntime } from "../support/hostile-runtime.js";
import { imageNodeOptions, type MeasuredRun, runCliMeasured } from "../support/measured-cli.js";
import { syncOnce } from "../support/reconcile.js";
import { recordFigure } from "../support/reliability.js";
import { tempDir } from "../support/tmp.js";

/** The CronJob's memory limit (deploy/): invariant 10 holds the whole run under it. */
const LIMIT_MIB = 256;
const MB = 1000 * 1000;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function healthyHaproxy(): Promise<RunningHaproxy> {
  const h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
  cleanups.push(() => h.stop());
  return h;
}

async function giants(dir: string, file: string, count: number, bytes: number): Promise<GiantMapRuntime[]> {
  const started = await Promise.all(Array.from({ length: count }, (_, i) => startGiantMapRuntime(dir, { file, bytes, name: `giant-${i}` })));
  cleanups.push(...started.map((g) => () => g.stop()));
  return started;
}

/** `sync --output json` with the built CLI under GNU time, on the test config plus `changes`. */
async function measuredSync(
  dir: string,
  sockets: string[],
  map: string,
  changes: { haproxy?: Record<string, unknown>; runTimeout?: string; limits?: Record<string, unknown>; nodeOptions?: string } = {},
) {
  const document = configDocument({ staticEntries: ["127.0.0.21"], sockets, map, auditPath: join(dir, "audit.jsonl") });
  const path = join(dir, "travis-allowlist.yaml");
  await writeFile(
    path,
    stringify({
      ...document,
      haproxy: { ...(document.haproxy as object), ...changes.haproxy },
      stateDir: dir,
      runTimeout: changes.runTimeout ?? "5m",
      limits: changes.limits ?? {},
    }),
  );
  const run: MeasuredRun = await runCliMeasured(["--config", path, "--output", "json", "sync"], {
    timeoutMs: 90_000,
    ...(changes.nodeOptions ? { nodeOptions: changes.nodeOptions } : {}),
  });
  return { run, result: JSON.parse(run.stdout) as RunResult };
}

describe("memory per run, whatever the runtime sockets send (invariant 10)", () => {
  it("a valid show map of 100 MB fails that instance with E_HAPROXY_LIVE_TOO_LONG; its millions of owned entries trip no guard, and the healthy HAProxy is applied within 256 MiB", async () => {
    const dir = (await tempDir("ta-bounded-")).path;
    const healthy = await healthyHaproxy();
    const [giant] = await giants(dir, healthy.listFile, 1, 100 * MB);
    const { run, result } = await measuredSync(dir, [giant!.target, healthy.unixTarget], healthy.listFile);

    expect(run.code).toBe(1);
    expect(result.instances.map((i) => [i.target, i.status, i.errorCode])).toEqual([
      [giant!.target, "failed", "E_HAPROXY_LIVE_TOO_LONG"],
      [healthy.unixTarget, "applied", undefined],
    ]);
    expect(result.instances[0]?.error).toContain("more than 500000 entries (limits.maxLiveEntries)");
    // Its 2.5 million owned entries would all be removals: a failed instance never counts towards maxRemovals.
    expect(result.held).toBeNull();
    expect(await liveEntries(healthy)).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
    expect(run.peakRssMib).toBeLessThan(LIMIT_MIB);
    recordFigure("giant-show-map-peak-rss-mib", Math.round(run.peakRssMib));
    recordFigure("giant-show-map-seconds", Math.round(run.seconds * 10) / 10);
    recordFigure("giant-show-map-mb-sent", Math.round(giant!.sent() / MB));
  }, 120_000);

  it("eight such peers at once each fail on their own, together within 256 MiB, and the healthy HAProxy is applied", async () => {
    const dir = (await tempDir("ta-bounded-")).path;
    const healthy = await healthyHaproxy();
    const floods = await giants(dir, healthy.listFile, 8, 100 * MB);
    // Memory is the point here, not time: eight floods read at once on a busy machine get a long reply deadline,
    // in the heap the image gives Node, whose size sets the run's budget of live entries.
    const { run, result } = await measuredSync(dir, [...floods.map((g) => g.target), healthy.unixTarget], healthy.listFile, {
      haproxy: { timeoutMs: 60_000 },
      nodeOptions: imageNodeOptions(),
    });

    expect(run.code).toBe(1);
    expect(result.instances.map((i) => [i.target, i.status, i.errorCode])).toEqual([
      ...floods.map((g) => [g.target, "failed", "E_HAPROXY_LIVE_TOO_LONG"]),
      [healthy.unixTarget, "applied", undefined],
    ]);
    expect(result.held).toBeNull();
    expect(await liveEntries(healthy)).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
    expect(run.peakRssMib).toBeLessThan(LIMIT_MIB);
    recordFigure("eight-giants-peak-rss-mib", Math.round(run.peakRssMib));
    recordFigure("eight-giants-seconds", Math.round(run.seconds * 10) / 10);
  }, 180_000);
});

/** `count` distinct foreign entries (`10.x.y.z office`): each is written back whole when the list changes. */
function foreignEntries(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} office`);
}

/**
 * A real HAProxy serving a live map of `count` entries, loaded from its file at
 * start, and a healthy one beside it under the same map path (one config names
 * one path for all instances); each read its file before the next was written.
 */
async function longAndHealthy(dir: string, count: number): Promise<{ long: RunningHaproxy; healthy: RunningHaproxy }> {
  const listFile = join(dir, "travis.map");
  const long = await startHaproxy({ kind: "map", listFile, entries: foreignEntries(count) });
  cleanups.push(() => long.stop());
  const healthy = await startHaproxy({ kind: "map", listFile, entries: ["127.0.0.5 office"] });
  cleanups.push(() => healthy.stop());
  return { long, healthy };
}

describe("long valid live lists, within the heap the image gives Node (invariant 10)", () => {
  /** The Dockerfile's NODE_OPTIONS: a 166 MiB heap, so the run's budget is about 219,000 live entries. */
  const AS_DEPLOYED = imageNodeOptions();

  it("a live map of 350,000 entries, within limits.maxLiveEntries, fails its instance with E_HAPROXY_LIVE_TOO_LONG naming the memory budget; the healthy HAProxy is applied within 256 MiB", async () => {
    const dir = (await tempDir("ta-bounded-")).path;
    const { long, healthy } = await longAndHealthy(dir, 350_000);
    const { run, result } = await measuredSync(dir, [long.unixTarget, healthy.unixTarget], healthy.listFile, {
      haproxy: { timeoutMs: 60_000 },
      nodeOptions: AS_DEPLOYED,
    });

    expect(run.code).toBe(1);
    expect(result.instances.map((i) => [i.target, i.status, i.errorCode])).toEqual([
      [long.unixTarget, "failed", "E_HAPROXY_LIVE_TOO_LONG"],
      [healthy.unixTarget, "applied", undefined],
    ]);
    expect(result.instances[0]?.error).toMatch(
      /the most one list may hold of the run's memory budget \(\d+ live entries for all instances together, from a 166 MiB heap\); a larger memory limit with a matching --max-old-space-size raises it/,
    );
    expect(await liveEntries(healthy)).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
    expect((await long.command(`show map ${long.listFile}`)).split("\n").filter((l) => l !== "")).toHaveLength(350_000);
    expect(run.peakRssMib).toBeLessThan(LIMIT_MIB);
    recordFigure("live-350k-image-heap-peak-rss-mib", Math.round(run.peakRssMib));
    recordFigure("live-350k-image-heap-seconds", Math.round(run.seconds * 10) / 10);
  }, 180_000);

  it("a live map of 200,000 entries is read, planned, written back whole with the new entry and verified, within 256 MiB", async () => {
    const dir = (await tempDir("ta-bounded-")).path;
    const { long, healthy } = await longAndHealthy(dir, 200_000);
    const { run, result } = await measuredSync(dir, [long.unixTarget, healthy.unixTarget], healthy.listFile, {
      haproxy: { timeoutMs: 60_000 },
      nodeOptions: AS_DEPLOYED,
    });

    expect(run.code).toBe(0);
    expect(result.instances.map((i) => [i.target, i.status, i.add])).toEqual([
      [long.unixTarget, "applied", ["127.0.0.21/32"]],
      [healthy.unixTarget, "applied", ["127.0.0.21/32"]],
    ]);
    const longList = (await long.command(`show map ${long.listFile}`)).split("\n").filter((l) => l !== "");
    expect(longList).toHaveLength(200_001);
    expect(longList.filter((l) => l.endsWith(" 127.0.0.21/32 travis") || l.endsWith(" 127.0.0.21 travis"))).toHaveLength(1);
    expect(run.peakRssMib).toBeLessThan(LIMIT_MIB);
    recordFigure("live-200k-image-heap-peak-rss-mib", Math.round(run.peakRssMib));
    recordFigure("live-200k-image-heap-seconds", Math.round(run.seconds * 10) / 10);
  }, 180_000);
});

describe("a slow instance never holds the healthy ones (invariant 10)", () => {
  it("with haproxy.timeoutMs 300000 and runTimeout 20s, a trickling instance fails on the part of runTimeout left for reading, and the healthy HAProxy is applied", async () => {
    const dir = (await tempDir("ta-bounded-")).path;
    const healthy = await healthyHaproxy();
    const trickle = await startHostileRuntime(dir, "trickle");
    cleanups.push(() => trickle.stop());
    const { run, result } = await measuredSync(dir, [trickle.target, healthy.unixTarget], healthy.listFile, {
      haproxy: { timeoutMs: 300_000 },
      runTimeout: "20s",
    });

    expect(run.code).toBe(1);
    expect(result.instances.map((i) => [i.target, i.status, i.errorCode])).toEqual([
      [trickle.target, "failed", "E_HAPROXY_TIMEOUT"],
      [healthy.unixTarget, "applied", undefined],
    ]);
    expect(result.instances[0]?.error).toContain("the part of runTimeout 20s left for reading the instances");
    expect(result.error?.code).not.toBe("E_RUN_TIMEOUT");
    expect(await liveEntries(healthy)).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
    recordFigure("trickle-runtimeout-20s-seconds", Math.round(run.seconds * 10) / 10);
  }, 60_000);

  it("a list still streaming in is read in turns of the event loop: its instance fails on its deadline while it arrives, and the healthy HAProxy is applied", async () => {
    const dir = (await tempDir("ta-bounded-")).path;
    const healthy = await healthyHaproxy();
    // Far more than can arrive before the deadline, and the limit and the heap (which sets the run's budget of
    // live entries) raised out of the way: only the deadline can end this read.
    const [giant] = await giants(dir, healthy.listFile, 1, 4000 * MB);
    const { run, result } = await measuredSync(dir, [giant!.target, healthy.unixTarget], healthy.listFile, {
      haproxy: { timeoutMs: 60_000 },
      runTimeout: "4s",
      limits: { maxLiveEntries: 1_000_000_000 },
      nodeOptions: "--max-old-space-size=65536",
    });

    expect(run.code).toBe(1);
    expect(result.instances.map((i) => [i.target, i.status, i.errorCode])).toEqual([
      [giant!.target, "failed", "E_HAPROXY_TIMEOUT"],
      [healthy.unixTarget, "applied", undefined],
    ]);
    expect(result.instances[0]?.error).toContain("left for reading the instances (waiting for: show map");
    expect(await liveEntries(healthy)).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
    recordFigure("streaming-deadline-runtimeout-4s-seconds", Math.round(run.seconds * 10) / 10);
    recordFigure("streaming-deadline-mb-received", Math.round(giant!.sent() / MB));
  }, 60_000);

  it("a source slower than the whole run still ends the run at runTimeout (E_RUN_TIMEOUT), each instance said to hold its old or complete new set", async () => {
    const dir = (await tempDir("ta-bounded-")).path;
    const healthy = await healthyHaproxy();
    const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21"], delayMs: 30_000 } } });
    cleanups.push(() => dns.stop());
    const base = testConfig({
      resolver: dns.resolver,
      dnsTimeoutMs: 60_000,
      sockets: [healthy.unixTarget],
      map: healthy.listFile,
      auditPath: join(dir, "audit.jsonl"),
    });
    const result = await syncOnce({ ...base, runTimeoutMs: 2000 });
    expect(result).toMatchObject({
      exitCode: 1,
      error: { code: "E_RUN_TIMEOUT", message: expect.stringContaining("within runTimeout (2s)") },
      instances: [{ target: healthy.unixTarget, status: "failed", errorCode: "E_RUN_TIMEOUT" }],
    });
    expect(await liveEntries(healthy)).toEqual(["127.0.0.5 office"]);
  }, 30_000);
});
