import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { startDaemon } from "../../src/daemon/daemon.js";
import { runOnce } from "../../src/reconcile/run.js";
import { type ShownRun, shownRun } from "../../src/cli/render/run.js";
import { writeConfig } from "../support/config.js";
import { fetchText } from "../support/fetch.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { realDeps } from "../support/reconcile.js";
import { until } from "../support/wait.js";

let dns: RunningDnsServer;
let h: RunningHaproxy;

beforeAll(async () => {
  dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21"] } } });
  h = await startHaproxy({ kind: "map" });
});
afterAll(async () => {
  await h.stop();
  await dns.stop();
});

const healthz = async (url: string) => (await fetchText(`${url}/healthz`)) ?? { status: 0, body: "" };

describe("a weekday schedule's daemon", () => {
  it("started on a Monday afternoon allows a weekend between runs: 64 h period, healthy on Monday morning after a Friday evening run", async () => {
    const mondayAfternoon = Date.parse("2026-12-07T16:30:00Z");
    const path = await writeConfig(h.dir, {
      resolver: dns.resolver,
      sockets: [h.unixTarget],
      map: h.listFile,
      extra: { schedule: "0 9,17 * * 1-5" },
    });
    const { config } = await loadConfig(path, {}, { now: () => new Date(mondayAfternoon) });
    expect(config.schedulePeriodMs).toBe(64 * 3_600_000);

    const logs: Array<Record<string, unknown>> = [];
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    let clock = Date.parse("2026-12-11T17:00:02Z");
    const results: ShownRun[] = [];
    const deps = realDeps(config);
    const daemon = await startDaemon({
      schedule: config.schedule,
      periodMs: config.schedulePeriodMs,
      listen: { host: "127.0.0.1", port: 0 },
      jitterMs: 0,
      logger: pino({ level: "info" }, capture),
      scrubber: deps.scrubber,
      now: () => new Date(clock),
      runSync: async (signal) => {
        const result = shownRun(await runOnce(config, deps, { dryRun: false, signal }), { detailedExitcode: false });
        results.push(result);
        return result;
      },
    });
    try {
      expect(logs.find((l) => l.msg === "daemon started")).toMatchObject({ periodSeconds: 64 * 3600 });
      await until(() => results.length >= 1, "the first run");
      expect(results[0]?.exitCode).toBe(0);
      expect(await h.statusFrom("127.0.0.21")).toBe(200);

      // The weekend: the next run is Monday 09:00, 64 h after Friday's.
      clock = Date.parse("2026-12-14T08:59:00Z");
      const monday = await healthz(daemon.url);
      expect(monday.status).toBe(200);
      expect(monday.body).toContain("limit 691200 s");

      // Three periods without a success is still unhealthy.
      clock = Date.parse("2026-12-19T17:00:03Z");
      expect((await healthz(daemon.url)).status).toBe(503);
    } finally {
      await daemon.stop();
    }
  });
});
