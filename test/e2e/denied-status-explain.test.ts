import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ShownExplain } from "../../src/cli/render/explain.js";
import type { ShownStatus } from "../../src/cli/render/run.js";
import { runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { deniedClientsRecipe, haproxyBinaries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { tempDir } from "../support/tmp.js";

const NAME = "nat.travisci.net";
const RUNNER = "127.0.0.21";
/** Published after the first sync: denied until the next one admits it. */
const NEW_RUNNER = "127.0.0.24";
const STRANGER = "127.0.0.50";

let dns: RunningDnsServer;
const running: RunningHaproxy[] = [];

beforeAll(async () => {
  dns = await startDnsServer({ zones: { [NAME]: { A: [RUNNER] } } });
});
afterAll(async () => {
  await Promise.all([...running.map((h) => h.stop()), dns.stop()]);
});

function publish(addresses: string[]): void {
  (dns.zones[NAME] as { A: string[] }).A = addresses;
}

async function started(options: Parameters<typeof startHaproxy>[0]): Promise<RunningHaproxy> {
  const h = await startHaproxy(options);
  running.push(h);
  return h;
}

async function denied(h: RunningHaproxy, from: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) expect(await h.statusFrom(from)).toBe(403);
}

async function json<T>(config: string, ...args: string[]): Promise<{ code: number; report: T }> {
  const run = await runCli(["--config", config, "--output", "json", ...args]);
  return { code: run.code, report: JSON.parse(run.stdout) as T };
}

/** Two instances of the recipe: the first is asked by strangers and a new runner, the second by nobody. */
async function twoInstances(bin: string, prefix: string, secondTable = "st_denied") {
  const dir = await tempDir(prefix);
  const first = await started({ bin, kind: "map", dir: dir.path, socketName: "a.sock", ...deniedClientsRecipe() });
  const second = await started({ bin, kind: "map", dir: dir.path, socketName: "b.sock", ...deniedClientsRecipe(secondTable) });
  publish([RUNNER]);
  const options = { resolver: dns.resolver, sockets: [first.unixTarget, second.unixTarget], map: first.listFile };
  const config = await writeConfig(dir.path, { ...options, denials: { table: "st_denied" } });
  const withoutDenials = await writeConfig(dir.path, options, "without-denials.yaml");
  expect((await runCli(["--config", config, "sync"])).code).toBe(0);
  return { first, second, config, withoutDenials };
}

describe.each(haproxyBinaries())("status and explain count the denied clients of each instance of HAProxy $version", ({ bin }) => {
  it("explain shows an address's denials on the instance that denied it and null on the other", async () => {
    const { first, second, config } = await twoInstances(bin, "ta-denied-explain-");
    const before = Date.now();
    await denied(first, STRANGER, 2);
    const after = Date.now();

    const { code, report } = await json<ShownExplain>(config, "explain", STRANGER, RUNNER);
    expect(code).toBe(0);
    const [stranger, runner] = report.addresses;
    expect(stranger?.instances.map((i) => [i.target, i.admitted, i.denied?.requests ?? null, i.deniedError])).toEqual([
      [first.unixTarget, false, 2, null],
      [second.unixTarget, false, null, null],
    ]);
    // lastSeen is reckoned from the entry's expiry: between the first request and the answer to the last.
    const lastSeen = Date.parse(stranger?.instances[0]?.denied?.lastSeen ?? "");
    expect(lastSeen).toBeGreaterThanOrEqual(before - 1000);
    expect(lastSeen).toBeLessThanOrEqual(after + 1000);
    expect(runner?.instances.map((i) => [i.admitted, i.denied])).toEqual([
      [true, null],
      [true, null],
    ]);

    const text = await runCli(["--config", config, "explain", STRANGER]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`^ {2}${first.unixTarget}: DENIED \\(no entry matches\\)\\n {4}turned away: 2 requests, the last at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`, "m"),
    );
    expect(text.stdout).toMatch(new RegExp(`^ {2}${second.unixTarget}: DENIED \\(no entry matches\\)$`, "m"));
    expect(text.stdout.match(/turned away/g)).toHaveLength(1);
  });

  it("status counts each instance's denied clients and the published ones still denied, in JSON and text", async () => {
    const { first, second, config } = await twoInstances(bin, "ta-denied-status-");
    publish([RUNNER, NEW_RUNNER]);
    await denied(first, STRANGER, 2);
    await denied(first, NEW_RUNNER, 3);

    const stale = await json<ShownStatus>(config, "status");
    expect(stale.code).toBe(0);
    expect(stale.report.deniedTable).toEqual({ table: "st_denied", window: "1d" });
    expect(stale.report.instances.map((i) => [i.target, i.denied, i.deniedError])).toEqual([
      [first.unixTarget, { clients: 2, published: 1, truncated: false }, null],
      [second.unixTarget, { clients: 0, published: 0, truncated: false }, null],
    ]);
    const text = await runCli(["--config", config, "status"]);
    expect(text.stdout).toContain(
      `${first.unixTarget}\n  HAProxy ${first.version}, 1 live entry (1 owned, 0 foreign)\n  out of sync: 1 missing, 0 to remove\n  missing ${NEW_RUNNER}/32\n  denied: 2 clients in the last 1d (st_denied), 1 of them published and still denied: see travis-allowlist denials\n`,
    );
    expect(text.stdout).toContain(`${second.unixTarget}\n`);
    expect(text.stdout).toContain("  denied: 0 clients in the last 1d (st_denied), 0 of them published and still denied\n");

    // Once a sync admits the new runner, its earlier denials are history: still listed, no longer a runner being denied.
    expect((await runCli(["--config", config, "sync"])).code).toBe(0);
    const admitted = await json<ShownStatus>(config, "status");
    expect(admitted.report.instances.map((i) => i.denied)).toEqual([
      { clients: 2, published: 0, truncated: false },
      { clients: 0, published: 0, truncated: false },
    ]);

    // While the sources cannot be read, whether a client is published is unknown, not zero.
    dns.zones[NAME]!.behaviour = "servfail";
    try {
      const outage = await json<ShownStatus>(config, "status");
      expect(outage.code).toBe(1);
      expect(outage.report.instances.map((i) => i.denied)).toEqual([
        { clients: 2, published: null, truncated: false },
        { clients: 0, published: null, truncated: false },
      ]);
      const outageText = await runCli(["--config", config, "status"]);
      expect(outageText.stdout).toContain("  denied: 2 clients in the last 1d (st_denied), published or not is unknown without the desired set\n");
    } finally {
      dns.zones[NAME]!.behaviour = "answer";
    }
  });

  it("an instance without the table shows its error in status and explain while the other is counted; the exit code is status's own", async () => {
    const { first, second, config } = await twoInstances(bin, "ta-denied-missing-", "st_other");
    await denied(first, STRANGER, 1);

    const status = await json<ShownStatus>(config, "status", "--detailed-exitcode");
    expect(status.code).toBe(0);
    expect(status.report.outcome).toBe("in-sync");
    expect(status.report.instances.map((i) => [i.target, i.denied, i.deniedError?.code ?? null])).toEqual([
      [first.unixTarget, { clients: 1, published: 0, truncated: false }, null],
      [second.unixTarget, null, "E_HAPROXY_TABLE_UNKNOWN"],
    ]);
    expect(status.report.instances[1]?.deniedError?.message).toContain("no stick table st_denied: it has st_other (type ipv6)");
    const text = await runCli(["--config", config, "status"]);
    expect(text.stdout).toContain(`${second.unixTarget}\n`);
    expect(text.stdout).toMatch(/^ {2}denied clients: table st_denied not read \(E_HAPROXY_TABLE_UNKNOWN: .*no stick table st_denied: it has st_other/m);
    expect(text.stdout).toContain("  denied: 1 client in the last 1d (st_denied), 0 of them published and still denied\n");

    const explain = await json<ShownExplain>(config, "explain", STRANGER);
    expect(explain.code).toBe(0);
    expect(explain.report.addresses[0]?.instances.map((i) => [i.denied?.requests ?? null, i.deniedError?.code ?? null])).toEqual([
      [1, null],
      [null, "E_HAPROXY_TABLE_UNKNOWN"],
    ]);
    const explainText = await runCli(["--config", config, "explain", STRANGER]);
    expect(explainText.stdout).toMatch(/^ {4}denied clients not read \(E_HAPROXY_TABLE_UNKNOWN: /m);
  });

  it("a full table is counted as a recent sample: status marks it truncated", async () => {
    const dir = await tempDir("ta-denied-full-");
    const h = await started({
      bin,
      kind: "map",
      dir: dir.path,
      rule: deniedClientsRecipe().rule,
      sections: ["backend st_denied", "  stick-table type ipv6 size 2 expire 1h store http_req_cnt"],
    });
    publish([RUNNER]);
    const config = await writeConfig(dir.path, {
      resolver: dns.resolver,
      sockets: [h.unixTarget],
      map: h.listFile,
      denials: { table: "st_denied", expire: "1h" },
    });
    expect((await runCli(["--config", config, "sync"])).code).toBe(0);
    await denied(h, STRANGER, 1);
    await denied(h, "127.0.0.51", 1);

    const status = await json<ShownStatus>(config, "status");
    expect(status.code).toBe(0);
    expect(status.report.deniedTable).toEqual({ table: "st_denied", window: "1h" });
    expect(status.report.instances[0]?.denied).toEqual({ clients: 2, published: 0, truncated: true });
    const text = await runCli(["--config", config, "status"]);
    expect(text.stdout).toContain("  denied: 2 clients in the last 1h (st_denied), 0 of them published and still denied; a recent sample (the table is full");
  });

  it("without haproxy.denials, status and explain show no denied fields or lines", async () => {
    const { first, withoutDenials } = await twoInstances(bin, "ta-denied-unset-");
    await denied(first, STRANGER, 1);

    const status = await json<ShownStatus>(withoutDenials, "status");
    expect(status.code).toBe(0);
    expect(status.report).not.toHaveProperty("deniedTable");
    for (const instance of status.report.instances) {
      expect(instance).not.toHaveProperty("denied");
      expect(instance).not.toHaveProperty("deniedError");
    }
    const explain = await json<ShownExplain>(withoutDenials, "explain", STRANGER);
    for (const instance of explain.report.addresses[0]?.instances ?? []) {
      expect(instance).not.toHaveProperty("denied");
      expect(instance).not.toHaveProperty("deniedError");
    }
    for (const command of ["status", "explain"]) {
      const text = await runCli(["--config", withoutDenials, command, ...(command === "explain" ? [STRANGER] : [])]);
      expect(text.code).toBe(0);
      expect(text.stdout).not.toMatch(/denied clients|denied: |turned away/);
    }
  });
});
