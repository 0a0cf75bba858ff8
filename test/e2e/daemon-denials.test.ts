import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/record.js";
import { childEnv, CLI, logLines, runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { type RunningDnsServer, startDnsServer } from "../support/dns-server.js";
import { fetchText } from "../support/fetch.js";
import { deniedClientsRecipe, haproxyBinaries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { freePort } from "../support/ports.js";
import { type RecordedLine, startRuntimeRecorder } from "../support/runtime-recorder.js";
import { parseExposition, sample } from "../support/prometheus.js";
import { recordFigure } from "../support/reliability.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

const WATCH_INTERVAL_MS = 1000;
/**
 * Beyond the work itself (two looks and the sync): starting the look's own
 * planning, the request that shows the 200, and a busy 2-core machine.
 */
const LOAD_MARGIN_MS = 5000;

let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  dir = await tempDir("ta-daemon-denials-");
});
afterAll(() => dir.remove());

interface Daemon {
  url: string;
  stderr: () => string;
  stop: () => Promise<void>;
}

/** The built CLI as a daemon whose schedule is months away: only the first run and the denial watch start syncs. */
async function startDaemonFor(h: RunningHaproxy, dns: RunningDnsServer, name: string, extra: Record<string, unknown>): Promise<Daemon & { config: string }> {
  const port = await freePort();
  const config = await writeConfig(
    dir.path,
    {
      resolver: dns.resolver,
      sockets: [h.unixTarget],
      map: h.listFile,
      auditPath: `${dir.path}/${name}-audit.jsonl`,
      denials: { table: "st_denied" },
      extra: {
        schedule: "0 0 1 1 *",
        watchInterval: `${WATCH_INTERVAL_MS}ms`,
        metrics: { listen: `127.0.0.1:${port}` },
        stateDir: `${dir.path}/${name}-state`,
        ...extra,
      },
    },
    `${name}.yaml`,
  );
  const child = spawn(process.execPath, [CLI, "--config", config, "--log-level", "debug", "daemon"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: childEnv(),
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetchText(`${url}/readyz`))?.status === 200, "ready after the first sync", 30_000);
  return {
    url,
    config,
    stderr: () => stderr,
    stop: async () => {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    },
  };
}

async function appliedOrHeld(config: string): Promise<AuditRecord[]> {
  const { stdout } = await runCli(["--config", config, "--output", "json", "audit", "show"]);
  return (JSON.parse(stdout) as AuditRecord[]).filter((r) => r.event === "applied" || r.event === "held");
}

async function metrics(url: string) {
  return parseExposition((await fetchText(`${url}/metrics`))?.body ?? "");
}

describe.each(haproxyBinaries())("the daemon's denial watch, on HAProxy $version", ({ bin }) => {
  it("admits a runner Travis just published seconds after its first denial: a sync with trigger denial, within 2 × watchInterval + the sync's time", async () => {
    const h = await startHaproxy({ bin, kind: "map", dir: dir.path, entries: ["127.0.0.21/32 travis"], ...deniedClientsRecipe() });
    const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21"] } } });
    const daemon = await startDaemonFor(h, dns, "admit", {});
    try {
      dns.zones["nat.travisci.net"] = { A: ["127.0.0.21", "127.0.0.22"] };
      const deniedAt = Date.now();
      expect(await h.statusFrom("127.0.0.22")).toBe(403);
      await until(async () => (await h.statusFrom("127.0.0.22")) === 200, "the newly published runner admitted", 60_000);
      const admittedMs = Date.now() - deniedAt;

      const records = await appliedOrHeld(daemon.config);
      expect(records.map((r) => [r.event, r.actor.trigger, r.instances.map((i) => i.add)])).toEqual([["applied", "denial", [["127.0.0.22/32"]]]]);
      const syncMs = (sample(await metrics(daemon.url), "travis_allowlist_last_run_duration_seconds") ?? NaN) * 1000;
      // A denial waits at most one interval for the next look, which may have begun just before it and read the table without it: two intervals, then the sync.
      expect(admittedMs).toBeLessThanOrEqual(2 * WATCH_INTERVAL_MS + syncMs + LOAD_MARGIN_MS);
      recordFigure("denial-to-admitted-seconds", Math.round(admittedMs / 100) / 10);

      // The gauges show the table as the watch reads it: the admitted runner is still listed (its denials came first), under its reason.
      await until(
        async () => sample(await metrics(daemon.url), "travis_allowlist_denied_clients", { target: h.unixTarget, reason: "stale" }) === 1,
        "gauges",
        30_000,
      );
      const series = await metrics(daemon.url);
      expect(series.get("travis_allowlist_denied_clients")?.type).toBe("gauge");
      expect(sample(series, "travis_allowlist_denied_requests", { target: h.unixTarget, reason: "stale" })).toBeGreaterThanOrEqual(1);
      // Admitted since: no further sync for it.
      expect(logLines(daemon.stderr()).filter((l) => /is being denied.*; syncing now$/.test(String(l.msg)))).toHaveLength(1);
    } finally {
      await daemon.stop();
      await Promise.all([h.stop(), dns.stop()]);
    }
  }, 120_000);

  it("under a stream of denials of a runner a guard holds, starts one sync a minute, alerts denied-runner once, and counts it as held", async () => {
    const h = await startHaproxy({ bin, kind: "map", dir: dir.path, entries: ["127.0.0.21/32 travis"], ...deniedClientsRecipe() });
    const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21"] } } });
    const hook: HttpReceiver = await startReceiver([200]);
    const daemon = await startDaemonFor(h, dns, "held", {
      guards: { maxAdditions: 1 },
      alerts: { on: ["denied-runner"], sinks: [{ type: "webhook", url: hook.url }] },
    });
    try {
      dns.zones["nat.travisci.net"] = { A: ["127.0.0.21", "127.0.0.23", "127.0.0.24"] };
      const waits = () => logLines(daemon.stderr()).filter((l) => String(l.msg).includes("a denial started a sync less than a minute ago")).length;
      // Denied requests keep coming while the watch looks five more times after the sync it started.
      await until(
        async () => {
          expect(await h.statusFrom("127.0.0.23")).toBe(403);
          return waits() >= 5;
        },
        "five looks that saw the held runner after its sync",
        60_000,
      );
      const records = await appliedOrHeld(daemon.config);
      expect(records.map((r) => [r.event, r.actor.trigger])).toEqual([["held", "denial"]]);
      const alerts = hook.requests.map((r) => r.json as { event: string; phase: string; deniedRunners?: Array<{ address: string; reason: string }> });
      expect(alerts.map((a) => [a.event, a.phase])).toEqual([["denied-runner", "firing"]]);
      expect(alerts[0]?.deniedRunners).toMatchObject([{ address: "127.0.0.23", reason: "held" }]);
      expect(sample(await metrics(daemon.url), "travis_allowlist_denied_clients", { target: h.unixTarget, reason: "held" })).toBe(1);
    } finally {
      await daemon.stop();
      await Promise.all([h.stop(), dns.stop(), hook.stop()]);
    }
  }, 120_000);

  it("between runs, looks only at the stick tables: no DNS query, no feed request, no list read, however many looks", async () => {
    const h = await startHaproxy({ bin, kind: "map", dir: dir.path, entries: ["127.0.0.21/32 travis"], ...deniedClientsRecipe() });
    const runtime = await startRuntimeRecorder(h.dir, h.unixTarget);
    const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21"] } } });
    const feedLines = ["127.0.0.21"];
    const feed = await startReceiver([200], (_request, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`${feedLines.join("\n")}\n`);
    });
    // Denied before the first run, which sees it: the looks know it and start nothing for it.
    expect(await h.statusFrom("127.0.0.99")).toBe(403);
    const daemon = await startDaemonFor(h, dns, "look", {
      sources: [
        { name: "travis-dns", type: "dns", names: ["nat.travisci.net"], resolvers: [dns.resolver], timeoutMs: 2000 },
        { name: "feed", type: "http", url: `${feed.url}/nat.txt`, format: "lines", timeoutMs: 2000 },
      ],
      haproxy: { sockets: [runtime.target], map: h.listFile, kind: "map", timeoutMs: 10_000, denials: { table: "st_denied" } },
      watchInterval: "200ms",
    });
    const tableReads = (lines: RecordedLine[]) => lines.filter((l) => l.line === "show table st_denied").length;
    /** What HAProxy may be asked between runs: the restart watch's `show info`, the tables, and a session's framing. */
    const lookCommand = /^(prompt|set severity-output number|show info|show table st_denied|quit|)$/;
    const quietFor = async (looks: number) => {
      const from = { line: runtime.lines.length, queries: dns.queries.length, requests: feed.requests.length };
      await until(() => tableReads(runtime.lines.slice(from.line)) >= looks, `${looks} looks at the table`, 60_000);
      expect(runtime.lines.slice(from.line).filter((l) => !lookCommand.test(l.line))).toEqual([]);
      expect(dns.queries.length - from.queries).toBe(0);
      expect(feed.requests.length - from.requests).toBe(0);
    };
    try {
      expect(dns.queries.length).toBeGreaterThan(0);
      expect(feed.requests.length).toBeGreaterThan(0);
      await quietFor(10);
      await until(
        async () => sample(await metrics(daemon.url), "travis_allowlist_denied_clients", { target: runtime.target, reason: "unpublished" }) === 1,
        "the looks' gauges",
        30_000,
      );

      // A client no run has seen may be a runner published since: the sync it starts, and only that, asks the sources and reads the list.
      feedLines.push("127.0.0.22");
      const before = { line: runtime.lines.length, queries: dns.queries.length, requests: feed.requests.length };
      expect(await h.statusFrom("127.0.0.22")).toBe(403);
      await until(async () => (await h.statusFrom("127.0.0.22")) === 200, "the runner the feed published admitted", 60_000);
      expect(dns.queries.length).toBeGreaterThan(before.queries);
      expect(feed.requests.length).toBeGreaterThan(before.requests);
      expect(runtime.lines.slice(before.line).some((l) => l.line.startsWith("show map"))).toBe(true);
      expect((await appliedOrHeld(daemon.config)).map((r) => [r.actor.trigger, r.instances.map((i) => i.add)])).toEqual([["denial", [["127.0.0.22/32"]]]]);

      await quietFor(10);
    } finally {
      await daemon.stop();
      await Promise.all([runtime.stop(), h.stop(), dns.stop(), feed.stop()]);
    }
  }, 120_000);
});
