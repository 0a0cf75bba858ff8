import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/record.js";
import { childEnv, CLI } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { startHostileRuntime } from "../support/hostile-runtime.js";
import { fetchText } from "../support/fetch.js";
import { freePort } from "../support/ports.js";
import { until } from "../support/wait.js";

let dns: RunningDnsServer;
let h: RunningHaproxy;
/** Every daemon a test starts; one a failed test left running is killed and awaited after it. */
const started: Array<{ child: ChildProcess; exited: Promise<number | null> }> = [];

beforeAll(async () => {
  dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21", "34.66.25.221"] } } });
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
});
afterAll(async () => {
  await h.stop();
  await dns.stop();
});
afterEach(async () => {
  for (const d of started.splice(0)) {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill("SIGKILL");
    await d.exited;
  }
});

async function daemon(file: string, options: { schedule?: string; haproxy?: Record<string, unknown>; watchInterval?: string } = {}) {
  const port = await freePort();
  // By default only the run at start-up matters; the schedule's next run is months away.
  const sources = [{ name: "travis-dns", type: "dns", names: ["nat.travisci.net"], resolvers: [dns.resolver], timeoutMs: 5000, retries: 0 }];
  const extra = {
    sources,
    schedule: options.schedule ?? "0 0 1 1 *",
    metrics: { listen: `127.0.0.1:${port}` },
    ...(options.haproxy ? { haproxy: options.haproxy } : {}),
    ...(options.watchInterval ? { watchInterval: options.watchInterval } : {}),
  };
  const config = await writeConfig(h.dir, { sockets: [h.unixTarget], map: h.listFile, extra }, file);
  const child = spawn(process.execPath, [CLI, "--config", config, "daemon"], { stdio: ["ignore", "pipe", "pipe"], env: childEnv() });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  started.push({ child, exited });
  return { child, exited, url: `http://127.0.0.1:${port}`, stderr: () => stderr };
}

const audit = async () =>
  (await readFile(join(h.dir, "audit.jsonl"), "utf8").catch(() => ""))
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditRecord);

describe("travis-allowlist daemon", () => {
  it("syncs at start, serves /metrics and /healthz, and exits 0 on SIGTERM", async () => {
    const d = await daemon("daemon.yaml");
    await until(async () => /^travis_allowlist_last_success_timestamp_seconds [1-9]/m.test((await fetchText(`${d.url}/metrics`))?.body ?? ""));
    expect(await h.statusFrom("127.0.0.21")).toBe(200);
    expect((await fetchText(`${d.url}/healthz`))?.status).toBe(200);
    expect((await audit()).at(-1)?.actor.trigger).toBe("scheduled");
    d.child.kill("SIGTERM");
    expect(await d.exited).toBe(0);
    expect(d.stderr()).toContain("daemon stopped");
  });

  it("on SIGTERM in the middle of a run, stops before any change and exits 0", async () => {
    await h.command(`clear map ${h.listFile}`);
    await h.command(`add map ${h.listFile} 127.0.0.5 office`);
    const before = await liveEntries(h);
    dns.zones["nat.travisci.net"]!.delayMs = 1500;
    const queriesBefore = dns.queries.length;
    const d = await daemon("daemon-term.yaml");
    await until(() => dns.queries.length > queriesBefore);
    d.child.kill("SIGTERM");
    expect(await d.exited).toBe(0);
    delete dns.zones["nat.travisci.net"]!.delayMs;
    expect(await liveEntries(h)).toEqual(before);
    const last = (await audit()).at(-1);
    expect(last).toMatchObject({ event: "failed", error: { code: "E_ABORTED" } });
  });

  it("while a runtime socket trickles its reply, later schedules still run and converge the healthy instance", async () => {
    const trickle = await startHostileRuntime(h.dir, "trickle");
    try {
      await h.command(`clear map ${h.listFile}`);
      const from = (await audit()).length;
      const d = await daemon("daemon-trickle.yaml", {
        schedule: "* * * * * *",
        haproxy: { sockets: [trickle.target, h.unixTarget], map: h.listFile, timeoutMs: 1000 },
      });
      // Several scheduled runs end, each failing only the trickling instance.
      await until(async () => (await audit()).slice(from).filter((r) => r.event !== "intent").length >= 3, "three scheduled runs", 30_000);
      const outcomes = (await audit()).slice(from).filter((r) => r.event !== "intent");
      for (const o of outcomes.slice(0, 3)) {
        expect(o.instances.map((i) => [i.target, i.outcome])).toEqual([
          [trickle.target, "failed"],
          [h.unixTarget, expect.stringMatching(/^(applied|in-sync)$/)],
        ]);
        expect(o.instances[0]?.error).toContain("no complete reply within 1000 ms");
      }
      expect(await h.statusFrom("127.0.0.21")).toBe(200);
      d.child.kill("SIGTERM");
      expect(await d.exited).toBe(0);
    } finally {
      await trickle.stop();
    }
  }, 60_000);

  it("answers SIGTERM at once while a run waits on a peer whose own deadline is minutes away", async () => {
    const trickle = await startHostileRuntime(h.dir, "trickle", "trickle-term");
    let d: Awaited<ReturnType<typeof daemon>> | undefined;
    try {
      const before = await liveEntries(h);
      // Without the restart watch, the only connection to the peer is the run's own.
      d = await daemon("daemon-trickle-term.yaml", {
        haproxy: { sockets: [trickle.target, h.unixTarget], map: h.listFile, timeoutMs: 600_000 },
        watchInterval: "0",
      });
      await until(() => trickle.open() > 0);
      d.child.kill("SIGTERM");
      // Waiting for the peer would take ten minutes; the test's own timeout is far shorter.
      expect(await d.exited).toBe(0);
      expect(await liveEntries(h)).toEqual(before);
      expect((await audit()).at(-1)).toMatchObject({ event: "failed", error: { code: "E_ABORTED" } });
    } finally {
      if (d?.child.exitCode === null) d.child.kill("SIGKILL");
      await trickle.stop();
    }
  }, 30_000);
});
