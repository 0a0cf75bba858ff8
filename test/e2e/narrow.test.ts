import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../../src/model/result.js";
import type { StatusReport } from "../../src/model/status.js";
import { acquireLock } from "../../src/util/lock.js";
import { runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { startDnsServer } from "../support/dns-server.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { tempDir } from "../support/tmp.js";

let dir: { path: string; remove: () => Promise<void> };
let a: RunningHaproxy;
let b: RunningHaproxy;
let config: string;

beforeAll(async () => {
  dir = await tempDir("ta-narrow-");
  // Two replicas that load the same map path, each from its own directory.
  const listFile = join(dir.path, "travis.map");
  a = await startHaproxy({ kind: "map", listFile, entries: ["127.0.0.5 office"] });
  b = await startHaproxy({ kind: "map", listFile, keepListFile: true });
  config = await writeConfig(dir.path, { staticEntries: ["127.0.0.21"], sockets: [a.unixTarget, b.unixTarget], map: listFile });
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
  await dir.remove();
});

describe("narrower runs", () => {
  it("--instance touches only the named instance of a fleet sharing one map path; status and explain look only there", async () => {
    const run = await runCli(["--config", config, "--output", "json", "sync", "--instance", a.unixTarget]);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as RunResult).instances.map((i) => [i.target, i.status])).toEqual([[a.unixTarget, "applied"]]);
    expect(await liveEntries(a)).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
    expect(await liveEntries(b)).toEqual(["127.0.0.5 office"]);

    const status = JSON.parse((await runCli(["--config", config, "--output", "json", "status", "--instance", b.unixTarget])).stdout) as StatusReport;
    expect(status.instances.map((i) => [i.target, i.missing])).toEqual([[b.unixTarget, ["127.0.0.21/32"]]]);
    // The instance left out never held the entry: missing there, but no drift.
    const all = JSON.parse((await runCli(["--config", config, "--output", "json", "status"])).stdout) as StatusReport;
    expect(all.instances.map((i) => [i.target, i.vanished])).toEqual([
      [a.unixTarget, []],
      [b.unixTarget, []],
    ]);
    const explain = JSON.parse((await runCli(["--config", config, "--output", "json", "explain", "127.0.0.21", "--instance", a.unixTarget])).stdout) as {
      addresses: Array<{ instances: Array<{ target: string; admitted: boolean }> }>;
    };
    expect(explain.addresses[0]?.instances.map((i) => [i.target, i.admitted])).toEqual([[a.unixTarget, true]]);
  });

  it("a narrowed run keeps what the state knows of the other instances: a hand deletion there is still drift", async () => {
    const own = await tempDir("ta-narrow-state-");
    const listFile = join(own.path, "travis.map");
    const first = await startHaproxy({ kind: "map", listFile, entries: ["127.0.0.5 office"] });
    const second = await startHaproxy({ kind: "map", listFile, keepListFile: true });
    try {
      const pair = await writeConfig(own.path, { staticEntries: ["127.0.0.21"], sockets: [first.unixTarget, second.unixTarget], map: listFile });
      expect((await runCli(["--config", pair, "sync"])).code).toBe(0);
      expect((await runCli(["--config", pair, "sync", "--instance", first.unixTarget])).code).toBe(0);

      await second.command(`del map ${listFile} 127.0.0.21/32`);
      const status = await runCli(["--config", pair, "--output", "json", "status", "--detailed-exitcode"]);
      expect(status.code).toBe(2);
      expect((JSON.parse(status.stdout) as StatusReport).instances.map((i) => [i.target, i.missing, i.vanished])).toEqual([
        [first.unixTarget, [], []],
        [second.unixTarget, ["127.0.0.21/32"], ["127.0.0.21/32"]],
      ]);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
      await own.remove();
    }
  });

  it("an --instance that is not configured is a usage error naming the instances there are", async () => {
    const run = await runCli(["--config", config, "--output", "json", "sync", "--instance", "unix:///nowhere.sock"]);
    expect(run.code).toBe(64);
    expect(JSON.parse(run.stdout)).toMatchObject({ exitCode: 64, error: { code: "E_INSTANCE_UNKNOWN" } });
    expect(run.stderr).toContain(`--instance unix:///nowhere.sock: not in haproxy.sockets (${a.unixTarget}, ${b.unixTarget})`);
  });

  it("an --instance that discovery did not find is the same usage error, and nothing is read or recorded", async () => {
    const dns = await startDnsServer({ zones: { "haproxy-runtime.edge.test": { A: ["127.0.0.1"] } } });
    try {
      const port = Number(a.tcpTarget.split(":").at(-1));
      const discovered = await writeConfig(
        dir.path,
        {
          staticEntries: ["127.0.0.21"],
          sockets: [],
          discover: { dns: "haproxy-runtime.edge.test", port, resolvers: [dns.resolver] },
          map: a.listFile,
          auditPath: join(dir.path, "discovered-audit.jsonl"),
        },
        "discovered.yaml",
      );
      for (const command of [["sync"], ["status"], ["explain", "127.0.0.21"]]) {
        const run = await runCli(["--config", discovered, "--output", "json", ...command, "--instance", b.unixTarget]);
        expect(run.code, command[0]).toBe(64);
        expect(JSON.parse(run.stdout)).toMatchObject({ exitCode: 64, error: { code: "E_INSTANCE_UNKNOWN" } });
        expect(run.stderr).toContain(`--instance ${b.unixTarget}: not among the discovered instances (tcp://127.0.0.1:${port})`);
      }
      await expect(stat(join(dir.path, "discovered-audit.jsonl"))).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      await dns.stop();
    }
  });

  it("--lock-timeout bounds the wait for another sync, and the error names the holder", async () => {
    const release = await acquireLock(join(dir.path, "sync.lock"), { timeoutMs: 1000, staleMs: 60_000, busy: { code: "E_RUN_LOCK", what: "test" } });
    try {
      const run = await runCli(["--config", config, "--output", "json", "sync", "--lock-timeout", "1"]);
      expect(run.code).toBe(1);
      expect((JSON.parse(run.stdout) as RunResult).error).toMatchObject({
        code: "E_RUN_LOCK",
        message: expect.stringMatching(new RegExp(`locked by pid ${process.pid} on .+, for \\d+ s .*waited 1000 ms`)),
      });
    } finally {
      await release();
    }
  });
});
