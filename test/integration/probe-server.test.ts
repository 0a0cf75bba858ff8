import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type ProbeServer, startProbeServer } from "../../src/daemon/server.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { Scrubber } from "../../src/util/secrets.js";
import { fetchText } from "../support/fetch.js";
import { type Slowloris, startSlowloris } from "../support/slowloris.js";
import { until } from "../support/wait.js";

const servers: ProbeServer[] = [];
const floods: Slowloris[] = [];
afterEach(async () => {
  await Promise.all(floods.splice(0).map((f) => f.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A probe server whose descriptor limit is 32, so its cap is 8 connections; its log lines are kept. */
async function smallServer() {
  const logs: Array<Record<string, unknown>> = [];
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const ok = () => ({ ok: true, reason: "fine" });
  const server = await startProbeServer(
    { host: "127.0.0.1", port: 0 },
    { metrics: createMetrics({ scrubber: new Scrubber() }), health: ok, readiness: ok },
    // The end of a flood is told after a quiet second here, not the half minute a daemon waits.
    { logger: pino({ level: "info" }, capture), openFilesLimit: 32, floodQuietMs: 1000 },
  );
  servers.push(server);
  const url = new URL(server.url);
  return { server, logs, target: { host: url.hostname, port: Number(url.port) } };
}

describe("the daemon's probe server under slow clients", () => {
  it("holds at most its cap, turns the rest away at once, cuts the held ones at the header deadline, and says so twice, not per connection", async () => {
    const { server, logs, target } = await smallServer();
    expect(server.limits).toEqual({ maxConnections: 8, openFilesLimit: 32 });

    const flood = startSlowloris(target, { connections: 20, tickMs: 200, reconnect: false });
    floods.push(flood);
    // Trickling keeps every held connection busy; only the header deadline ends them.
    await until(() => flood.counts().opened === 20 && flood.counts().open === 0, "every slow client closed by the server", 30_000);
    expect(flood.counts()).toEqual({ opened: 20, open: 0, refused: 12, timedOut: 8 });

    const warnings = logs.filter((l) => l.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: "probe server at its connection cap: further connections are closed at once, so the runs keep their file descriptors",
        maxConnections: 8,
        openFilesLimit: 32,
        listen: new URL(server.url).host,
      }),
    ]);
    await until(() => logs.some((l) => l.msg === "probe server no longer refusing connections"), "the flood's end told");
    expect(logs.filter((l) => l.msg === "probe server no longer refusing connections")).toEqual([
      expect.objectContaining({ level: 30, maxConnections: 8, refusedConnections: 12, quietSeconds: 1 }),
    ]);
    expect((await fetchText(`${server.url}/healthz`))?.status).toBe(200);
  }, 40_000);

  it("answers a scrape while slow clients hold part of its cap", async () => {
    const { server, logs, target } = await smallServer();
    const flood = startSlowloris(target, { connections: 6, tickMs: 200 });
    floods.push(flood);
    await until(() => flood.counts().open === 6, "six slow clients connected");
    const metrics = await fetchText(`${server.url}/metrics`);
    expect(metrics?.status).toBe(200);
    expect(metrics?.body).toContain("travis_allowlist_desired_entries");
    expect(flood.counts().refused).toBe(0);
    expect(logs.filter((l) => l.level === 40)).toEqual([]);
  });
});
