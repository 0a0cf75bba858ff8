import { spawn } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childEnv, CLI, logLines } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { until } from "../support/wait.js";

let h: RunningHaproxy;
let config: string;

beforeAll(async () => {
  h = await startHaproxy({ kind: "map" });
  config = await writeConfig(h.dir, { staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: h.listFile });
});
afterAll(() => h.stop());

describe("a sync waiting for another one on this host", () => {
  it("says at once, in the log, that it waits, for which pid since when and for how long at most; it goes on once the lock is free", async () => {
    // The lock as a running sync writes it, held by a process that is alive: this test's own.
    const lock = join(h.dir, "sync.lock");
    const since = Date.now();
    await writeFile(lock, `${process.pid} ${hostname()} ${since}`, { mode: 0o600 });
    const child = spawn(process.execPath, [CLI, "--config", config, "sync", "--lock-timeout", "90"], {
      env: childEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      const waiting = () => logLines(stderr.slice(0, stderr.lastIndexOf("\n") + 1)).find((l) => l.lockHolder !== undefined);
      await until(() => waiting() !== undefined, "the waiting line", 30_000);
      expect(child.exitCode).toBeNull();
      expect(waiting()).toMatchObject({
        level: 40,
        lockHolder: { pid: process.pid, host: hostname(), since },
        lockTimeoutMs: 90_000,
        msg: expect.stringMatching(new RegExp(`^waiting up to 90 s .*held by pid ${process.pid} on .* since ${new Date(since).toISOString()}$`)),
      });
      expect(await liveEntries(h)).toEqual([]);
    } finally {
      await rm(lock, { force: true });
    }
    expect(await exited).toBe(0);
    expect(stdout).toContain("Applied and verified.");
    expect(await liveEntries(h)).toEqual(["127.0.0.21/32 travis"]);
  }, 60_000);
});
