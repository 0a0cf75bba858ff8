import { rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { acquireRunLock } from "../../src/cli/run-lock.js";
import type { LockHolder } from "../../src/util/lock.js";
import { testConfig } from "../support/config.js";
import { syncOnce } from "../support/reconcile.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("the run lock", () => {
  it("a sync that waits too long for another one says so with its own code, naming the holder", async () => {
    const t = await tempDir("ta-runlock-");
    cleanups.push(t.remove);
    const config = testConfig({ staticEntries: ["127.0.0.21"], sockets: ["unix:///nonexistent.sock"], map: join(t.path, "travis.map") });
    await writeFile(join(t.path, "sync.lock"), `${process.pid} ${hostname()} ${Date.now()}`);
    await expect(acquireRunLock(config, 100)).rejects.toMatchObject({
      code: "E_RUN_LOCK",
      message: expect.stringContaining(`another sync (the run lock) is locked by pid ${process.pid}`),
    });
    const result = await syncOnce(config, {}, { runLock: () => acquireRunLock(config, 100) });
    expect(result).toMatchObject({ exitCode: 1, error: { code: "E_RUN_LOCK" }, instances: [] });
  });

  it("a sync that has to wait is told once, at once, who holds the lock and since when; a free lock tells nothing", async () => {
    const t = await tempDir("ta-runlock-");
    cleanups.push(t.remove);
    const config = testConfig({ staticEntries: ["127.0.0.21"], sockets: ["unix:///nonexistent.sock"], map: join(t.path, "travis.map") });
    const since = Date.now();
    await writeFile(join(t.path, "sync.lock"), `${process.pid} ${hostname()} ${since}`);
    const told: LockHolder[] = [];
    const waiting = acquireRunLock(config, 60_000, (holder) => told.push(holder));
    await until(() => told.length > 0, "the waiting sync told who holds the lock");
    expect(told).toEqual([{ pid: process.pid, host: hostname(), since }]);
    await rm(join(t.path, "sync.lock"));
    const release = await waiting;
    expect(told).toHaveLength(1);
    await release();

    const free: LockHolder[] = [];
    await (
      await acquireRunLock(config, 60_000, (holder) => free.push(holder))
    )();
    expect(free).toEqual([]);
  });
});
