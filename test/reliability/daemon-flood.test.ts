import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childEnv, CLI, logLines } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { fetchText } from "../support/fetch.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { freePort } from "../support/ports.js";
import { recordFigure } from "../support/reliability.js";
import { type Slowloris, startSlowloris } from "../support/slowloris.js";
import { until } from "../support/wait.js";

const OPEN_FILES = 1024;
const SLOW_CLIENTS = 1100;

let dns: RunningDnsServer;
let h: RunningHaproxy;

beforeAll(async () => {
  dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21"] } } });
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
});
afterAll(async () => {
  await h.stop();
  await dns.stop();
});

/** The built CLI's daemon with 1024 descriptors, soft and hard, syncing every two seconds. */
async function floodableDaemon() {
  const port = await freePort();
  const config = await writeConfig(h.dir, {
    resolver: dns.resolver,
    sockets: [h.unixTarget],
    map: h.listFile,
    extra: { schedule: "*/2 * * * * *", metrics: { listen: `127.0.0.1:${port}` } },
  });
  // prlimit sets the limit and then executes node, so the daemon's pid is the child's.
  const child = spawn("prlimit", [`--nofile=${OPEN_FILES}:${OPEN_FILES}`, process.execPath, CLI, "--config", config, "daemon"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: childEnv(),
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const logs = () => logLines(stderr);
  const runs = () => logs().filter((l) => l.event === "run-summary");
  const descriptors = async () => (await readdir(`/proc/${child.pid}/fd`)).length;
  return { child, exited, url: `http://127.0.0.1:${port}`, target: { host: "127.0.0.1", port }, logs, runs, descriptors };
}

describe("the daemon's HTTP port under a slowloris flood", () => {
  it(`with ${OPEN_FILES} descriptors, ${SLOW_CLIENTS} slow clients kept up for many runs leave every run green, and the port answers afterwards`, async () => {
    const d = await floodableDaemon();
    let flood: Slowloris | undefined;
    try {
      await until(() => d.runs().length > 0, "the first run", 30_000);
      expect(d.logs().find((l) => l.msg === "daemon started")).toMatchObject({ maxConnections: 256, openFilesLimit: OPEN_FILES });
      expect(d.runs()[0]).toMatchObject({ outcome: "applied" });

      // The flood stays up for many scheduled runs, longer than three header deadlines; one run has a change to apply.
      flood = startSlowloris(d.target, { connections: SLOW_CLIENTS, tickMs: 1000 });
      const runsBefore = d.runs().length;
      dns.zones["nat.travisci.net"]!.A = ["127.0.0.21", "127.0.0.22"];
      let peakDescriptors = 0;
      const eightRuns = async () => {
        peakDescriptors = Math.max(peakDescriptors, await d.descriptors());
        return d.runs().length >= runsBefore + 8;
      };
      await until(eightRuns, "eight runs during the flood", 120_000);
      const duringFlood = d.runs().slice(runsBefore);
      expect(duringFlood.map((r) => r.outcome).filter((o) => o !== "applied" && o !== "in-sync")).toEqual([]);
      expect(duringFlood.map((r) => r.outcome)).toContain("applied");
      expect(await liveEntries(h)).toEqual(["127.0.0.21/32 travis", "127.0.0.22/32 travis", "127.0.0.5 office"]);
      expect(d.logs().filter((l) => JSON.stringify(l).includes("EMFILE"))).toEqual([]);
      expect(peakDescriptors).toBeLessThan(OPEN_FILES / 2);
      const counts = flood.counts();
      expect(counts.refused).toBeGreaterThan(0);
      expect(counts.timedOut).toBeGreaterThanOrEqual(2 * 256);

      await flood.stop();
      // One warning for the whole flood, not one per connection or per round.
      expect(d.logs().filter((l) => l.level === 40 && l.maxConnections === 256)).toHaveLength(1);
      expect((await fetchText(`${d.url}/healthz`))?.status).toBe(200);
      expect((await fetchText(`${d.url}/metrics`))?.body).toMatch(/^travis_allowlist_last_success_timestamp_seconds [1-9]/m);

      recordFigure("daemon-flood-connections-opened", counts.opened);
      recordFigure("daemon-flood-refused-at-once", counts.refused);
      recordFigure("daemon-flood-cut-at-header-deadline", counts.timedOut);
      recordFigure("daemon-flood-peak-descriptors", peakDescriptors);
      recordFigure("daemon-flood-runs-green", `${duringFlood.length} of ${duringFlood.length}`);
      d.child.kill("SIGTERM");
      expect(await d.exited).toBe(0);
    } finally {
      await flood?.stop();
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill("SIGKILL");
      await d.exited;
    }
  }, 180_000);
});
