import { request } from "node:http";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningDaemon, startDaemon } from "../../src/daemon/daemon.js";
import type { RunResult } from "../../src/model/result.js";
import { runOnce } from "../../src/reconcile/run.js";
import { type ShownRun, shownRun } from "../../src/cli/render/run.js";
import { testConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { realDeps } from "../support/reconcile.js";
import { Scrubber } from "../../src/util/secrets.js";
import { until } from "../support/wait.js";

let dns: RunningDnsServer;
let h: RunningHaproxy;
const daemons: RunningDaemon[] = [];

beforeAll(async () => {
  dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21", "34.66.25.221"] } } });
  h = await startHaproxy({ kind: "map" });
});
afterAll(async () => {
  await h.stop();
  await dns.stop();
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop()));
});

function get(url: string, method = "GET"): Promise<{ status: number; body: string; type?: string }> {
  return new Promise((resolve, reject) => {
    request(url, { method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, type: res.headers["content-type"] }));
    })
      .on("error", reject)
      .end();
  });
}

describe("daemon", () => {
  it("runs on schedule, never two runs at once, and serves /metrics and /healthz", async () => {
    dns.zones["nat.travisci.net"]!.delayMs = 1200;
    const config = testConfig({ resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile });
    config.sources[0] = { ...config.sources[0]!, timeoutMs: 3000 } as (typeof config.sources)[0];
    const deps = realDeps(config);
    let running = 0;
    let peak = 0;
    const results: RunResult[] = [];
    const daemon = await startDaemon({
      schedule: "* * * * * *",
      periodMs: 1000,
      listen: { host: "127.0.0.1", port: 0 },
      jitterMs: 0,
      logger: pino({ level: "silent" }),
      scrubber: deps.scrubber,
      runSync: async (signal) => {
        peak = Math.max(peak, ++running);
        try {
          const result = await runOnce(config, deps, { dryRun: false, signal });
          results.push(result);
          return result;
        } finally {
          running--;
        }
      },
    });
    daemons.push(daemon);
    await until(() => results.length >= 2);
    delete dns.zones["nat.travisci.net"]!.delayMs;
    expect(peak).toBe(1);
    expect(results[0]?.instances[0]?.status).toBe("applied");
    expect(await h.statusFrom("127.0.0.21")).toBe(200);

    const metrics = await get(`${daemon.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^travis_allowlist_last_success_timestamp_seconds \d{10}/m);
    expect(metrics.body).toContain("travis_allowlist_desired_entries 2\n");
    expect(metrics.body).toContain(`travis_allowlist_instance_in_sync{target="${h.unixTarget}"} 1\n`);
    const health = await get(`${daemon.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.body).toMatch(/^ok: last success \d+ s ago \(limit 3 s\)/);
    expect((await get(`${daemon.url}/nope`)).status).toBe(404);
    // HEAD answers like GET, without a body.
    expect(await get(`${daemon.url}/metrics`, "HEAD")).toEqual({ status: 200, body: "", type: metrics.type });
    expect(await get(`${daemon.url}/healthz`, "HEAD")).toMatchObject({ status: 200, body: "" });
  });

  it("/healthz turns 503 when the last success is older than three periods", async () => {
    let clock = Date.parse("2026-11-26T18:00:00Z");
    const daemon = await startDaemon({
      schedule: "*/10 * * * *",
      periodMs: 600_000,
      listen: { host: "127.0.0.1", port: 0 },
      jitterMs: 0,
      logger: pino({ level: "silent" }),
      scrubber: new Scrubber(),
      now: () => new Date(clock),
      runSync: () => Promise.reject(new Error("never succeeds")),
    });
    daemons.push(daemon);
    expect((await get(`${daemon.url}/healthz`)).status).toBe(200);
    clock += 31 * 60_000;
    const late = await get(`${daemon.url}/healthz`);
    expect(late.status).toBe(503);
    expect(late.body).toContain("no successful run in 1860 s");
  });

  it("a pod not yet ready tries a failed sync again soon, not at the next schedule, and turns ready once it succeeds", async () => {
    delete dns.zones["late.example.test"];
    const config = testConfig({ resolver: dns.resolver, names: ["late.example.test"], sockets: [h.unixTarget], map: h.listFile });
    const deps = realDeps(config);
    const results: ShownRun[] = [];
    const daemon = await startDaemon({
      // Months away: only a retry can run again.
      schedule: "0 0 1 1 *",
      periodMs: 366 * 86_400_000,
      listen: { host: "127.0.0.1", port: 0 },
      jitterMs: 0,
      retryMs: 100,
      logger: pino({ level: "silent" }),
      scrubber: deps.scrubber,
      runSync: async (signal) => {
        const result = shownRun(await runOnce(config, deps, { dryRun: false, signal }), { detailedExitcode: false });
        results.push(result);
        return result;
      },
    });
    daemons.push(daemon);
    await until(() => results.length >= 2, "a second, failed try");
    expect(results.map((r) => r.exitCode)).toEqual([1, 1]);
    expect((await get(`${daemon.url}/readyz`)).status).toBe(503);
    dns.zones["late.example.test"] = { A: ["127.0.0.41"] };
    await until(async () => (await get(`${daemon.url}/readyz`)).status === 200, "ready", 20_000);
    expect(results.at(-1)?.exitCode).toBe(0);
    expect(await h.statusFrom("127.0.0.41")).toBe(200);
  });
});
