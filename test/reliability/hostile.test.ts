import { writeFile } from "node:fs/promises";
import type { Config } from "../../src/config/schema.js";
import { join } from "node:path";
import { stringify } from "yaml";
import type { RunResult } from "../../src/model/result.js";
import { logLines, runCli } from "../support/cli.js";
import { configDocument } from "../support/config.js";
import { startReceiver } from "../support/http-receiver.js";
import { afterEach, describe, expect, it } from "vitest";
import { testConfig } from "../support/config.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { startHostileRuntime, type HostileRuntime } from "../support/hostile-runtime.js";
import { recordFigure } from "../support/reliability.js";
import { syncOnce } from "../support/reconcile.js";
import { tempDir } from "../support/tmp.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("hostile runtime sockets next to a healthy HAProxy", () => {
  it("a trickling and a flooding peer each fail with their own code and a bounded footprint, and the healthy instance is converged in the same run", async () => {
    const dir = (await tempDir("ta-hostile-")).path;
    const healthy: RunningHaproxy = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
    const trickle: HostileRuntime = await startHostileRuntime(dir, "trickle");
    const flood: HostileRuntime = await startHostileRuntime(dir, "flood");
    cleanups.push(
      () => healthy.stop(),
      () => trickle.stop(),
      () => flood.stop(),
    );

    const base = testConfig({ staticEntries: ["127.0.0.21"], sockets: [trickle.target, flood.target, healthy.unixTarget], map: healthy.listFile });
    // Long enough for the flood to reach the size limit first, even on a busy machine.
    const config = { ...base, haproxy: { ...base.haproxy, timeoutMs: 8000 } };
    const started = Date.now();
    const result = await syncOnce(config);
    const seconds = (Date.now() - started) / 1000;
    const peakRssMb = process.resourceUsage().maxRSS / 1024;

    expect(result.exitCode).toBe(1);
    expect(result.instances.map((i) => [i.target, i.status, i.errorCode])).toEqual([
      [trickle.target, "failed", "E_HAPROXY_TIMEOUT"],
      [flood.target, "failed", "E_HAPROXY_REPLY_TOO_LARGE"],
      [healthy.unixTarget, "applied", undefined],
    ]);
    expect(result.instances[0]?.error).toContain("no complete reply within 8000 ms");
    expect(await liveEntries(healthy)).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
    expect(await healthy.statusFrom("127.0.0.21")).toBe(200);
    // Before replies were bounded, a flooding peer grew the process to several gigabytes.
    expect(peakRssMb).toBeLessThan(1024);
    recordFigure("hostile-runtime-seconds", Math.round(seconds * 10) / 10);
    recordFigure("hostile-runtime-peak-rss-mb", Math.round(peakRssMb));
  }, 60_000);

  it("a run ends by runTimeout even when a peer's own deadline is longer: the peer fails on the part of runTimeout left for reading", async () => {
    const dir = (await tempDir("ta-hostile-")).path;
    const trickle = await startHostileRuntime(dir, "trickle");
    cleanups.push(() => trickle.stop());
    const base = testConfig({ staticEntries: ["127.0.0.21"], sockets: [trickle.target], map: join(dir, "travis.map"), auditPath: join(dir, "audit.jsonl") });
    const config: Config = { ...base, runTimeoutMs: 1000, haproxy: { ...base.haproxy, timeoutMs: 60_000 } };
    const result = await syncOnce(config);
    expect(result).toMatchObject({
      exitCode: 1,
      instances: [{ target: trickle.target, status: "failed", errorCode: "E_HAPROXY_TIMEOUT", error: expect.stringContaining("runTimeout 1s") }],
    });
  }, 20_000);
});

describe("reporting a run ends by runTimeout too", () => {
  it("alert sinks and a Pushgateway that never answer cannot stretch a timed-out run past runTimeout", async () => {
    const dir = await tempDir("ta-hostile-report-");
    const trickle = await startHostileRuntime(dir.path, "trickle");
    const sink = await startReceiver(["hang"]);
    const gateway = await startReceiver(["hang"]);
    cleanups.push(
      () => trickle.stop(),
      () => sink.stop(),
      () => gateway.stop(),
      () => dir.remove(),
    );
    const document = configDocument({ staticEntries: ["127.0.0.21"], sockets: [trickle.target], map: join(dir.path, "travis.map") });
    const config = join(dir.path, "travis-allowlist.yaml");
    await writeFile(
      config,
      stringify({
        ...document,
        haproxy: { ...(document.haproxy as object), timeoutMs: 60_000 },
        runTimeout: "3s",
        // Each sink alone would take three attempts of a minute each.
        alerts: {
          on: ["failed"],
          sinks: [
            { type: "webhook", url: sink.url, timeoutMs: 60_000 },
            { type: "slack", url: `${sink.url}/slack`, timeoutMs: 60_000 },
          ],
        },
        metrics: { pushgateway: gateway.url },
      }),
    );
    const run = await runCli(["--config", config, "--output", "json", "sync"]);
    const result = JSON.parse(run.stdout) as RunResult;
    expect(run.code).toBe(1);
    // The peer fails on its share of runTimeout; the alerts then get only what is left of it.
    expect(result.instances[0]?.errorCode).toBe("E_HAPROXY_TIMEOUT");
    expect(result.alerts).toEqual([
      expect.objectContaining({ ok: false, errorCode: "E_ALERT_TIMEOUT", error: expect.stringContaining("still under way at the run's deadline") }),
      expect.objectContaining({ ok: false, errorCode: "E_ALERT_TIMEOUT", error: expect.stringContaining("still under way at the run's deadline") }),
    ]);
    expect(sink.requests.length).toBeGreaterThan(0);
    const push = logLines(run.stderr).find((l) => (l.err as { code?: string } | undefined)?.code === "E_METRICS_PUSH");
    expect(push).toBeDefined();
    // What was left of the 3 s, not the push's usual 5 s.
    const waited = Number(/within (\d+) ms/.exec((push?.err as { message: string }).message)?.[1]);
    expect(waited).toBeLessThanOrEqual(3000);
  }, 30_000);
});
