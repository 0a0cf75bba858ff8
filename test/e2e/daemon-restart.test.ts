import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/record.js";
import { childEnv, CLI, runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { fetchText } from "../support/fetch.js";
import { freePort } from "../support/ports.js";
import { recordFigure } from "../support/reliability.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

const STALE = ["127.0.0.5 office", "127.0.0.9 travis"];
let dir: { path: string; remove: () => Promise<void> };
let h: RunningHaproxy;

beforeAll(async () => {
  dir = await tempDir("ta-restart-");
  h = await startHaproxy({ kind: "map", dir: dir.path, entries: STALE });
});
afterAll(async () => {
  await h.stop();
  await dir.remove();
});

describe("the daemon's restart watch", () => {
  it("syncs a restarted HAProxy that loaded a stale map file at once, not at the next schedule, and is ready only while synced", async () => {
    const port = await freePort();
    const config = await writeConfig(dir.path, {
      sockets: [h.unixTarget],
      map: h.listFile,
      staticEntries: ["127.0.0.21"],
      // The schedule's next run is months away: only the watch (default interval, 5s) can bring the restarted instance back.
      extra: { schedule: "0 0 1 1 *", metrics: { listen: `127.0.0.1:${port}` } },
    });
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [CLI, "--config", config, "daemon"], { stdio: ["ignore", "ignore", "pipe"], env: childEnv() });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await until(async () => (await fetchText(`${url}/readyz`))?.status === 200, "ready after the first sync", 30_000);
      expect(await liveEntries(h)).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);

      // A restart: the new process loads the map file, which still holds the old list.
      await h.stop();
      h = await startHaproxy({ kind: "map", dir: dir.path, listFile: h.listFile, keepListFile: true });
      const restartedAt = Date.now();
      expect(await liveEntries(h)).toEqual(["127.0.0.5 office", "127.0.0.9 travis"]);

      await until(async () => JSON.stringify(await liveEntries(h)) === JSON.stringify(["127.0.0.21/32 travis", "127.0.0.5 office"]), "converged", 30_000);
      const seconds = (Date.now() - restartedAt) / 1000;
      expect(await h.statusFrom("127.0.0.21")).toBe(200);
      expect(await h.statusFrom("127.0.0.9")).toBe(403);
      await until(async () => (await fetchText(`${url}/readyz`))?.status === 200, "ready again", 30_000);
      const metrics = (await fetchText(`${url}/metrics`))?.body ?? "";
      expect(metrics).toContain(`travis_allowlist_instance_restarts_total{target="${h.unixTarget}"} 1`);
      expect(stderr).toContain("a new HAProxy process");

      // The trail says what started each run: the schedule's first run, then the restart.
      const applied = async () =>
        (JSON.parse((await runCli(["--config", config, "--output", "json", "audit", "show", "--changes"])).stdout) as AuditRecord[]).filter(
          (r) => r.event === "applied",
        );
      await until(async () => (await applied()).length === 2, "the restart-triggered run recorded", 30_000);
      expect((await applied()).map((r) => [r.actor.trigger, r.instances.map((i) => [i.target, i.add, i.remove])])).toEqual([
        ["scheduled", [[h.unixTarget, ["127.0.0.21/32"], ["127.0.0.9/32"]]]],
        ["restart", [[h.unixTarget, ["127.0.0.21/32"], ["127.0.0.9/32"]]]],
      ]);
      const shown = (await runCli(["--config", config, "audit", "show", "--changes"])).stdout.trim().split("\n");
      expect(shown.at(-1)).toMatch(/ \(restart\) {2}\+1\/-1 {2}on unix:\/\/\S+: \+127\.0\.0\.21\/32, -127\.0\.0\.9\/32 /);
      expect(shown.at(-1)).toContain(`on ${h.unixTarget}: +127.0.0.21/32`);
      recordFigure("restart-to-converged-seconds", Math.round(seconds * 10) / 10);
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  }, 90_000);
});
