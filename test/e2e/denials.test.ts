import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ShownDenials } from "../../src/cli/render/denials.js";
import type { RunResult } from "../../src/model/result.js";
import { runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { deniedClientsRecipe, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { tempDir } from "../support/tmp.js";

const NAME = "nat.travisci.net";
/** Runners the DNS source publishes from the start; 127.0.0.23 is published, synced, then withdrawn. */
const FIRST = ["127.0.0.21", "127.0.0.22", "127.0.0.23"];
const STALE = "127.0.0.24";
const HELD = "127.0.0.25";
const REMOVED = "127.0.0.23";
const EXCLUDED = "127.0.0.40";
const UNPUBLISHED = "127.0.0.50";

let dns: RunningDnsServer;
const running: RunningHaproxy[] = [];

beforeAll(async () => {
  dns = await startDnsServer({ zones: { [NAME]: { A: [...FIRST] } } });
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

async function requests(h: RunningHaproxy, from: string, times: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) statuses.push(await h.statusFrom(from));
  return statuses;
}

async function sync(config: string, ...args: string[]): Promise<{ code: number; result: RunResult }> {
  const run = await runCli(["--config", config, "--output", "json", "sync", ...args]);
  return { code: run.code, result: JSON.parse(run.stdout) as RunResult };
}

async function denials(config: string, ...args: string[]): Promise<{ code: number; report: ShownDenials; stderr: string }> {
  const run = await runCli(["--config", config, "--output", "json", "denials", ...args]);
  return { code: run.code, report: JSON.parse(run.stdout) as ShownDenials, stderr: run.stderr };
}

describe("denials: who was turned away, and why", () => {
  it("gives every reason, published ones first, and exits 2 with --detailed-exitcode while a runner is denied", async () => {
    const dir = await tempDir("ta-denials-");
    const h = await started({ kind: "map", dir: dir.path, entries: ["127.0.0.5 office"], ...deniedClientsRecipe() });
    const config = await writeConfig(dir.path, {
      resolver: dns.resolver,
      sockets: [h.unixTarget],
      map: h.listFile,
      denials: { table: "st_denied" },
      extra: { exclude: [`${EXCLUDED}/32`], guards: { maxAdditions: 1, maxRemovals: "100%" } },
    });
    publish([...FIRST]);
    expect((await sync(config, "--force")).code).toBe(0);
    publish(FIRST.filter((a) => a !== REMOVED));
    const removal = await sync(config);
    expect(removal.code).toBe(0);
    publish([...FIRST.filter((a) => a !== REMOVED), STALE]);

    const firstRequest = Date.now();
    expect(await requests(h, REMOVED, 2)).toEqual([403, 403]);
    expect(await requests(h, STALE, 3)).toEqual([403, 403, 403]);
    expect(await requests(h, EXCLUDED, 1)).toEqual([403]);
    expect(await requests(h, UNPUBLISHED, 4)).toEqual([403, 403, 403, 403]);
    expect(await requests(h, "127.0.0.21", 1)).toEqual([200]);

    const plain = await denials(config);
    const answered = Date.now();
    expect(plain.code).toBe(0);
    expect(Object.keys(plain.report).sort()).toEqual(["denials", "error", "exitCode", "outcome", "tables", "version"]);
    expect(plain.report).toMatchObject({ version: 1, exitCode: 0, outcome: "published-denied", error: null });
    expect(plain.report.tables).toEqual([{ target: h.unixTarget, table: "st_denied", entries: 4, truncated: false, skipped: 0, error: null }]);
    expect(plain.report.denials.map((d) => [d.address, d.reason, d.requests])).toEqual([
      [STALE, "stale", 3],
      [UNPUBLISHED, "unpublished", 4],
      [REMOVED, "removed", 2],
      [EXCLUDED, "excluded", 1],
    ]);
    const [stale, unpublished, removed, excluded] = plain.report.denials;
    expect(stale).toMatchObject({ runId: null, detail: `published by travis-dns (${NAME}); not live on any of 1 instances` });
    expect(stale?.instances).toEqual([{ target: h.unixTarget, requests: 3, lastSeen: stale?.lastSeen, admitted: false }]);
    expect(stale?.current).toBe(true);
    // Last seen is worked out from the entry's expiry: within the requests' window, give or take HAProxy's clock tick.
    expect(Date.parse(stale?.lastSeen ?? "")).toBeGreaterThanOrEqual(firstRequest - 1000);
    expect(Date.parse(stale?.lastSeen ?? "")).toBeLessThanOrEqual(answered + 1000);
    expect(removed).toMatchObject({ runId: removal.result.runId, detail: expect.stringContaining(`removed by this tool at `) });
    expect(removed?.detail).toContain(`in run ${removal.result.runId}`);
    expect(excluded).toMatchObject({ runId: null, detail: expect.stringContaining(`exclude ${EXCLUDED}/32 covers it`) });
    expect(unpublished).toMatchObject({ runId: null, detail: expect.stringContaining("no source publishes it and this tool never admitted it") });
    expect((await denials(config, "--detailed-exitcode")).code).toBe(2);

    // A trail that no longer holds the removal: the removal state still knows it, without a run.
    const options = { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, denials: { table: "st_denied" } };
    const freshTrail = await writeConfig(
      dir.path,
      { ...options, auditPath: `${dir.path}/fresh-audit.jsonl`, extra: { exclude: [`${EXCLUDED}/32`] } },
      "fresh.yaml",
    );
    const fromState = (await denials(freshTrail)).report.denials.find((d) => d.address === REMOVED);
    expect(fromState).toMatchObject({ reason: "removed", runId: null, detail: expect.stringContaining("the removal state records it") });

    // Two more runners at once: past maxAdditions 1, the sync is held, and both are denied because of it.
    publish([...FIRST.filter((a) => a !== REMOVED), STALE, HELD]);
    const held = await sync(config);
    expect(held.code).toBe(3);
    expect(await requests(h, HELD, 1)).toEqual([403]);
    const whileHeld = await denials(config, "--detailed-exitcode");
    expect(whileHeld.code).toBe(2);
    expect(whileHeld.report.denials.filter((d) => d.reason === "held").map((d) => [d.address, d.runId])).toEqual([
      [STALE, held.result.runId],
      [HELD, held.result.runId],
    ]);
    expect(whileHeld.report.denials[0]?.detail).toContain("held by guard maxAdditions");
  });

  it("reports the instances whose table it read, names the one without it, and --instance narrows to one", async () => {
    const dir = await tempDir("ta-denials-fleet-");
    const withTable = await started({ kind: "map", dir: dir.path, socketName: "a.sock", ...deniedClientsRecipe() });
    const otherTable = await started({ kind: "map", dir: dir.path, socketName: "b.sock", ...deniedClientsRecipe("st_other") });
    publish(["127.0.0.21"]);
    const config = await writeConfig(dir.path, {
      resolver: dns.resolver,
      sockets: [withTable.unixTarget, otherTable.unixTarget],
      map: withTable.listFile,
      denials: { table: "st_denied" },
    });
    expect((await sync(config)).code).toBe(0);
    expect(await requests(withTable, UNPUBLISHED, 2)).toEqual([403, 403]);
    expect(await requests(otherTable, UNPUBLISHED, 1)).toEqual([403]);

    const both = await denials(config, "--detailed-exitcode");
    expect(both.code).toBe(1);
    expect(both.report).toMatchObject({ exitCode: 1, outcome: "unknown", error: null });
    expect(both.report.tables).toEqual([
      { target: withTable.unixTarget, table: "st_denied", entries: 1, truncated: false, skipped: 0, error: null },
      {
        target: otherTable.unixTarget,
        table: "st_denied",
        entries: 0,
        truncated: false,
        skipped: 0,
        error: { code: "E_HAPROXY_TABLE_UNKNOWN", message: expect.stringContaining("no stick table st_denied: it has st_other (type ipv6)") },
      },
    ]);
    expect(both.report.denials).toMatchObject([{ address: UNPUBLISHED, reason: "unpublished", requests: 2, instances: [{ target: withTable.unixTarget }] }]);

    const one = await denials(config, "--instance", withTable.unixTarget);
    expect(one.code).toBe(0);
    expect(one.report.tables.map((t) => t.target)).toEqual([withTable.unixTarget]);

    const text = await runCli(["--config", config, "denials", "--instance", withTable.unixTarget]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^127\.0\.0\.50 +unpublished +2 requests {2}last \S+ {2}\(1 instance\)\n {2}no source publishes it/m);

    const textWithFailure = await runCli(["--config", config, "denials"]);
    expect(textWithFailure.code).toBe(1);
    expect(textWithFailure.stdout).toContain(`${otherTable.unixTarget}: table st_denied not read (E_HAPROXY_TABLE_UNKNOWN: `);
  });

  it("while a source fails, classifies nothing (published or not is unknown): the source's error, exit 1", async () => {
    const dir = await tempDir("ta-denials-outage-");
    const h = await started({ kind: "map", dir: dir.path, ...deniedClientsRecipe() });
    const config = await writeConfig(dir.path, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, denials: { table: "st_denied" } });
    expect(await requests(h, UNPUBLISHED, 1)).toEqual([403]);
    dns.zones[NAME]!.behaviour = "servfail";
    try {
      const outage = await denials(config, "--detailed-exitcode");
      expect(outage.code).toBe(1);
      expect(outage.report).toMatchObject({ denials: [], tables: [], outcome: "unknown", exitCode: 1, error: { code: "E_SOURCE_DNS_SERVFAIL" } });
    } finally {
      dns.zones[NAME]!.behaviour = "answer";
    }
  });

  it("an instance that cannot be reached is a table not read, with the instance's own error code", async () => {
    const dir = await tempDir("ta-denials-unreached-");
    const h = await started({ kind: "map", dir: dir.path, ...deniedClientsRecipe() });
    const gone = `unix://${dir.path}/no-such.sock`;
    const config = await writeConfig(dir.path, { resolver: dns.resolver, sockets: [h.unixTarget, gone], map: h.listFile, denials: { table: "st_denied" } });
    expect(await requests(h, UNPUBLISHED, 1)).toEqual([403]);
    const partly = await denials(config);
    expect(partly.code).toBe(1);
    expect(partly.report.tables.map((t) => [t.target, t.error?.code ?? null])).toEqual([
      [h.unixTarget, null],
      [gone, "E_HAPROXY_CONNECT"],
    ]);
    expect(partly.report.denials.map((d) => d.address)).toEqual([UNPUBLISHED]);
  });

  it("refuses a table of type ip (E_HAPROXY_TABLE_TYPE): it would drop IPv6 clients", async () => {
    const dir = await tempDir("ta-denials-ip-");
    const h = await started({
      kind: "map",
      dir: dir.path,
      rule: (listFile) => [
        `acl travis_runner src,map_ip(${listFile}) -m found`,
        "http-request track-sc0 src table st_ip unless travis_runner",
        "http-request deny deny_status 403 unless travis_runner",
      ],
      sections: ["backend st_ip", "  stick-table type ip size 1k expire 24h store http_req_cnt"],
    });
    publish(["127.0.0.21"]);
    const config = await writeConfig(dir.path, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, denials: { table: "st_ip" } });
    expect(await requests(h, UNPUBLISHED, 1)).toEqual([403]);
    const refused = await denials(config);
    expect(refused.code).toBe(1);
    expect(refused.report.tables[0]?.error).toEqual({
      code: "E_HAPROXY_TABLE_TYPE",
      message: expect.stringContaining("stick table st_ip is type ip: IPv6 clients would be dropped"),
    });
    expect(refused.report.denials).toEqual([]);
  });

  it("without haproxy.denials, or with a --since that is no duration, is a usage error (exit 64) naming what to fix", async () => {
    const dir = await tempDir("ta-denials-usage-");
    const h = await started({ kind: "map", dir: dir.path });
    const config = await writeConfig(dir.path, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile });
    const unset = await runCli(["--config", config, "--output", "json", "denials"]);
    expect(unset.code).toBe(64);
    expect(JSON.parse(unset.stdout)).toMatchObject({
      exitCode: 64,
      error: { code: "E_USAGE", message: expect.stringContaining("haproxy.denials.table is not set") },
    });
    expect(JSON.parse(unset.stdout).error.message).toContain("docs/haproxy.md");
    const since = await runCli(["--config", config, "denials", "--since", "yesterday"]);
    expect(since.code).toBe(64);
    expect(since.stderr).toContain('expected a duration such as "1h"');
  });
});
