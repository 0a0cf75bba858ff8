import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { travisAddresses } from "../support/fixtures.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
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
});
