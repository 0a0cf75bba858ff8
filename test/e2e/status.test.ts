import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { travisAddresses } from "../support/fixtures.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import type { StatusReport } from "../../src/model/status.js";
import { tempDir } from "../support/tmp.js";

const TRAVIS = travisAddresses();
let dns: RunningDnsServer;
const fleet: RunningHaproxy[] = [];
let config: string;
let onlyFirstTwo: string;

beforeAll(async () => {
  dns = await startDnsServer({ zones: { "nat.travisci.net": { A: TRAVIS } } });
  const dir = (await tempDir("ta-status-")).path;
  for (let i = 0; i < 5; i++)
    fleet.push(await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"], listFile: `${dir}/travis.map`, socketName: `admin-${i}.sock` }));
  config = await writeConfig(dir, { resolver: dns.resolver, sockets: fleet.map((h) => h.unixTarget), map: fleet[0]!.listFile });
  onlyFirstTwo = await writeConfig(dir, { resolver: dns.resolver, sockets: fleet.slice(0, 4).map((h) => h.unixTarget), map: fleet[0]!.listFile }, "four.yaml");
});
afterAll(async () => {
  await Promise.all(fleet.map((h) => h.stop()));
  await dns.stop();
});

describe("status", () => {
  it("groups identical instances, exits 2 on drift with --detailed-exitcode, and changes nothing", async () => {
    expect((await runCli(["--config", onlyFirstTwo, "sync"])).code).toBe(0);
    const before = await liveEntries(fleet[4]!);
    const text = await runCli(["--config", config, "status", "--detailed-exitcode"]);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain(
      `4 instances: ${fleet
        .slice(0, 4)
        .map((h) => h.unixTarget)
        .join(", ")}\n  HAProxy ${fleet[0]!.version}, ${TRAVIS.length + 1} live entries (${TRAVIS.length} owned, 1 foreign)\n  in sync`,
    );
    expect(text.stdout).toContain(
      `${fleet[4]!.unixTarget}\n  HAProxy ${fleet[4]!.version}, 1 live entry (0 owned, 1 foreign)\n  out of sync: ${TRAVIS.length} missing, 0 to remove`,
    );
    expect(await liveEntries(fleet[4]!)).toEqual(before);
    expect((await runCli(["--config", config, "status"])).code).toBe(0);

    const json = await runCli(["--config", config, "--output", "json", "status"]);
    const report = JSON.parse(json.stdout) as { version: number; inSync: boolean; instances: Array<Record<string, unknown>> };
    expect(report).toMatchObject({ version: 1, inSync: false });
    expect(Object.keys(report.instances[0]!).sort()).toEqual([
      "duplicates",
      "error",
      "exposures",
      "foreignCount",
      "haproxyVersion",
      "inSync",
      "liveCount",
      "missing",
      "ownedCount",
      "pendingRemoval",
      "remove",
      "target",
      "unexpected",
      "vanished",
    ]);

    expect((await runCli(["--config", config, "sync"])).code).toBe(0);
    expect((await runCli(["--config", config, "status", "--detailed-exitcode"])).code).toBe(0);
  });

  it("draws a progress line only on a terminal", async () => {
    const piped = await runCli(["--config", config, "status"]);
    expect(piped.stderr).not.toContain("instances\r");
    expect(piped.stderr).not.toContain("read 5/5");
    // script(1) gives the CLI a real pseudo-terminal; async, so this process's DNS server keeps answering.
    const tty = await new Promise<string>((resolve, reject) =>
      execFile("script", ["-qec", `${process.execPath} ${CLI} --config ${config} --log-level error status`, "/dev/null"], { timeout: 20_000 }, (err, stdout) =>
        err ? reject(new Error(`script failed: ${err.message}`, { cause: err })) : resolve(stdout),
      ),
    );
    expect(tty).toContain("read 5/5 instances");
  });

  it("while a source fails, still reads every instance: counts, drift and exposures, the failed source named, exit 1", async () => {
    const own = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21", "127.0.0.22"] } } });
    const dir = await tempDir("ta-status-outage-");
    const h = await startHaproxy({ kind: "map", dir: dir.path, entries: ["127.0.0.5 office", "127.0.0.99 office"] });
    try {
      const file = await writeConfig(dir.path, { resolver: own.resolver, sockets: [h.unixTarget], map: h.listFile, extra: { exclude: ["127.0.0.99/32"] } });
      expect((await runCli(["--config", file, "sync"])).code).toBe(0);
      // Behind the tool's back: one of its entries deleted, one added under its value.
      await h.command(`del map ${h.listFile} 127.0.0.21/32`);
      await h.command(`add map ${h.listFile} 127.0.0.77 travis`);
      own.zones["nat.travisci.net"]!.behaviour = "servfail";

      const json = await runCli(["--config", file, "--output", "json", "status", "--detailed-exitcode"]);
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout) as StatusReport;
      expect(report).toMatchObject({ inSync: null, exitCode: 1, error: { code: "E_SOURCE_DNS_SERVFAIL", message: expect.stringContaining("travis-dns") } });
      expect(report.sources).toMatchObject([{ name: "travis-dns", status: "failed", errorCode: "E_SOURCE_DNS_SERVFAIL" }]);
      expect(report.instances).toEqual([
        {
          target: h.unixTarget,
          haproxyVersion: h.version,
          liveCount: 4,
          ownedCount: 2,
          foreignCount: 2,
          missing: null,
          remove: null,
          pendingRemoval: null,
          unexpected: ["127.0.0.77/32"],
          vanished: ["127.0.0.21/32"],
          duplicates: [],
          exposures: [{ address: "127.0.0.99", entry: "127.0.0.99/32", key: "127.0.0.99", value: "office", owner: "foreign", reason: "excluded" }],
          inSync: null,
          error: null,
        },
      ]);

      const text = await runCli(["--config", file, "status"]);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^Desired set: unknown, because source travis-dns failed \(E_SOURCE_DNS_SERVFAIL: /);
      expect(text.stdout).toContain(`${h.unixTarget}\n  HAProxy ${h.version}, 4 live entries (2 owned, 2 foreign)\n  in sync: unknown`);
      expect(text.stdout).toContain("127.0.0.21/32 (put in place by this tool, then removed behind its back: drift)");
      expect(text.stdout).not.toContain("Not in sync.");
    } finally {
      await h.stop();
      await own.stop();
      await dir.remove();
    }
  });
});
