import { spawn } from "node:child_process";
import { readFile, symlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { acquireLock } from "../../src/util/lock.js";
import type { AuditRecord } from "../../src/audit/record.js";
import { childEnv, CLI, logLines, runCli } from "../support/cli.js";
import { until } from "../support/wait.js";
import { chainWithSecond, MALFORMED } from "../support/audit.js";
import { tempDir } from "../support/tmp.js";
import { writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { travisAddresses } from "../support/fixtures.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

const TRAVIS = travisAddresses();
const SECRET_ENV = { SLACK_URL: "http://127.0.0.1:1/services/T0/B0/sekrit-audit" };
let dns: RunningDnsServer;
const running: RunningHaproxy[] = [];

beforeAll(async () => {
  dns = await startDnsServer({ zones: {} });
});
afterAll(() => dns.stop());
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

async function setup(entries: string[] = []) {
  dns.zones["nat.travisci.net"] = { A: TRAVIS };
  const h = await startHaproxy({ kind: "map", entries });
  running.push(h);
  const alerts = { on: ["failed"], sinks: [{ type: "slack", url: "${SLACK_URL}", timeoutMs: 200 }] };
  const config = await writeConfig(h.dir, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, extra: { alerts } });
  return { h, config, auditPath: join(h.dir, "audit.jsonl") };
}

const cli = (config: string, args: string[], env: Record<string, string> = {}) => runCli(["--config", config, ...args], { env: { ...SECRET_ENV, ...env } });
const sync = (config: string, args: string[] = [], env: Record<string, string> = {}) => cli(config, ["sync", ...args], env);

async function records(path: string): Promise<AuditRecord[]> {
  return (await readFile(path, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
}

describe("the audit trail of real runs", () => {
  it("records intent and outcome of each run, verifies, and shows them", async () => {
    const { h, config, auditPath } = await setup(["127.0.0.5 office"]);
    const env = { POD_NAME: "travis-allowlist-29123-abcde", POD_NAMESPACE: "edge", TRAVIS_ALLOWLIST_TRIGGER: "scheduled" };
    const first = await sync(config, [], env);
    expect(first.code).toBe(0);
    expect((await sync(config)).code).toBe(0);
    dns.zones["nat.travisci.net"] = { A: TRAVIS.slice(0, 10) };
    expect((await sync(config)).code).toBe(3);
    dns.zones["nat.travisci.net"] = { A: [], behaviour: "servfail" };
    expect((await sync(config)).code).toBe(1);
    expect((await sync(config, ["--dry-run"])).code).toBe(1);

    const trail = await records(auditPath);
    expect(trail.map((r) => r.event)).toEqual(["intent", "applied", "in-sync", "held", "failed"]);
    const [intent, applied] = trail as [AuditRecord, AuditRecord];
    expect(intent.runId).toBe(applied.runId);
    expect(applied).toMatchObject({
      v: 1,
      seq: 2,
      actor: { user: expect.any(String), host: hostname(), pod: env.POD_NAME, namespace: "edge", trigger: "scheduled" },
      toolVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
      configDigest: expect.stringMatching(/^sha256:/),
      sources: [
        { name: "travis-dns", type: "dns", status: "ok", count: TRAVIS.length, digest: expect.stringMatching(/^sha256:/), durationMs: expect.any(Number) },
      ],
      desired: { count: TRAVIS.length },
      instances: [{ target: h.unixTarget, haproxyVersion: h.version, remove: [], outcome: "applied", committedVersion: expect.any(Number), error: null }],
    });
    expect(applied.instances[0]?.add).toContain("35.192.85.2/32");
    expect(trail[3]).toMatchObject({ event: "held", held: { guard: "maxRemovals" } });
    expect(trail[4]).toMatchObject({ event: "failed", error: { code: "E_SOURCE_DNS_SERVFAIL" }, sources: [{ status: "failed" }] });
    expect(trail[2]?.actor.trigger).toBe("manual");

    const text = await readFile(auditPath, "utf8");
    expect(text).not.toContain("sekrit");

    expect(await cli(config, ["audit", "verify"])).toMatchObject({ code: 0, stdout: expect.stringContaining("intact, 5 records") });
    const show = await cli(config, ["audit", "show", "--last", "4"]);
    expect(show.code).toBe(0);
    const shown = show.stdout.trim().split("\n");
    expect(shown).toHaveLength(4);
    expect(shown[0]).toMatch(
      /^#2 {2}\S+ {2}applied +\S+@\S+ pod edge\/travis-allowlist-29123-abcde \(scheduled\) {2}\+42\/-0 {2}on \S+: \+34\.66\.25\.221\/32/,
    );
    expect(shown[0]).toContain(`+42/-0  on ${h.unixTarget}: +34.66.25.221/32`);
    expect(shown[2]).toContain("held by maxRemovals");
    const json = await cli(config, ["--output", "json", "audit", "show", "--last", "1"]);
    expect(JSON.parse(json.stdout)).toEqual([trail[4]]);
  });

  it("audit show, audit verify and sync refuse a symlink planted at the trail, naming it, and write nothing through it", async () => {
    const { h, config, auditPath } = await setup();
    const elsewhere = join(h.dir, "elsewhere.jsonl");
    await writeFile(elsewhere, "");
    await symlink(elsewhere, auditPath);
    for (const args of [["audit", "show"], ["audit", "verify"], ["sync"]]) {
      const run = await cli(config, args);
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).toContain(`a symlink was found at ${auditPath}`);
    }
    expect(await readFile(elsewhere, "utf8")).toBe("");
    expect(await liveEntries(h)).toEqual([]);
  });

  it("logs every record through pino with audit: true", async () => {
    const { config } = await setup();
    const run = await sync(config);
    const audited = logLines(run.stderr).filter((l) => l.audit === true);
    expect(audited.map((l) => (l.record as AuditRecord).event)).toEqual(["intent", "applied"]);
  });

  it.each([
    ["an edited value", (lines: string[]) => [lines[0], (lines[1] as string).replace(/"add":\["[^"]+"/, '"add":["10.0.0.0/8"'), ...lines.slice(2)], "line 2"],
    ["a deleted line", (lines: string[]) => [lines[0], ...lines.slice(2)], "line 2"],
    ["two swapped lines", (lines: string[]) => [lines[1], lines[0], ...lines.slice(2)], "line 1"],
    ["a truncated last line", (lines: string[]) => [...lines.slice(0, -1), (lines.at(-1) as string).slice(0, 50)], "line 4"],
  ])("audit verify detects %s and exits 1", async (_name, tamper, where) => {
    const { config, auditPath } = await setup();
    await sync(config);
    await sync(config);
    dns.zones["nat.travisci.net"] = { A: TRAVIS.slice(0, 10) };
    await sync(config);
    const lines = (await readFile(auditPath, "utf8")).trim().split("\n");
    expect(lines).toHaveLength(4);
    const tampered = tamper(lines);
    await writeFile(auditPath, `${tampered.join("\n")}${_name === "a truncated last line" ? "" : "\n"}`);
    const verify = await cli(config, ["audit", "verify"]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`NOT intact at ${where}`);
  });

  it("an unwritable audit trail, or an unusable state directory, means no change at all and exit 1", async () => {
    const { h } = await setup(["127.0.0.5 office"]);
    await writeFile(join(h.dir, "blocker"), "");
    const auditPath = join(h.dir, "blocker", "audit.jsonl");
    const blocked = await writeConfig(
      h.dir,
      { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, auditPath, extra: { stateDir: h.dir } },
      "blocked.yaml",
    );
    const before = await liveEntries(h);
    const run = await runCli(["--config", blocked, "--output", "json", "sync"]);
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as { error: { code: string; message: string }; instances: Array<{ status: string; state: string }> };
    expect(result.error).toMatchObject({ code: "E_AUDIT_WRITE", message: expect.stringContaining("nothing applied") });
    expect(result.instances[0]).toMatchObject({ status: "failed", state: expect.stringContaining("audit trail could not be written") });
    expect(await liveEntries(h)).toEqual(before);

    // Without stateDir the state lives beside the audit file, inside a file here: the run does not even start.
    const noState = await writeConfig(h.dir, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, auditPath }, "nostate.yaml");
    const second = await runCli(["--config", noState, "--output", "json", "sync"]);
    expect(second.code).toBe(1);
    expect(JSON.parse(second.stdout)).toMatchObject({ error: { code: "E_STATE_DIR", message: expect.stringContaining("state directory") } });
    expect(await liveEntries(h)).toEqual(before);
  });

  it("a run killed between intent and outcome is reported by the next run", async () => {
    const many = Array.from({ length: 1800 }, (_, i) => `34.${100 + (i >> 8)}.${i & 255}.7`);
    const { h, config, auditPath } = await setup();
    dns.zones["nat.travisci.net"] = { A: many };
    const child = spawn(process.execPath, [CLI, "--config", config, "sync"], { stdio: "ignore", env: childEnv(SECRET_ENV) });
    // Hold the audit lock as soon as the intent is on disk, so the outcome can never be written.
    // A Node start, 1,800 addresses over DNS and a plan come first: on a busy machine that takes a while.
    const lockPath = `${auditPath}.lock`;
    await until(async () => (await readFile(auditPath, "utf8").catch(() => "")).includes('"event":"intent"'), "an intent written", 40_000);
    const release = await acquireLock(lockPath, { timeoutMs: 5000, staleMs: 60_000, busy: { code: "E_AUDIT_LOCK", what: "the audit trail" } });
    const exited = new Promise((r) => child.once("exit", r));
    await until(async () => (await liveEntries(h)).length >= many.length, "the change applied", 40_000);
    child.kill("SIGKILL");
    await exited;
    await release();
    expect((await records(auditPath)).map((r) => r.event)).toEqual(["intent"]);

    const next = await cli(config, ["--output", "json", "sync"]);
    expect(next.code).toBe(0);
    const warning = logLines(next.stderr).find((l) => typeof l.msg === "string" && l.msg.includes("no outcome"));
    expect(warning).toMatchObject({ level: 40, seq: 1 });
    const trail = await records(auditPath);
    expect(trail.map((r) => r.event)).toEqual(["intent", "in-sync"]);
    expect(trail[1]?.unfinishedIntent).toEqual({ runId: trail[0]?.runId, seq: 1, time: trail[0]?.time });
    expect((await cli(config, ["audit", "verify"])).code).toBe(0);
  }, 120_000);
});

describe("audit heartbeat", () => {
  it("identical in-sync runs are recorded once per heartbeat with a count; a change is always recorded; the chain verifies; --changes hides the noise", async () => {
    const { h, config, auditPath } = await setup();
    expect((await sync(config)).code).toBe(0);
    for (let i = 0; i < 4; i++) expect((await sync(config)).code).toBe(0);
    const afterQuiet = await records(auditPath);
    // The applying run's intent and outcome, and the first in-sync run; three more were counted, not recorded.
    expect(afterQuiet.map((r) => r.event)).toEqual(["intent", "applied", "in-sync"]);

    // Something changes: it is recorded at once.
    await h.command(`del map ${h.listFile} ${TRAVIS[0]}/32`);
    expect((await sync(config)).code).toBe(0);
    expect((await sync(config)).code).toBe(0);
    const all = await records(auditPath);
    expect(all.map((r) => r.event)).toEqual(["intent", "applied", "in-sync", "intent", "applied", "in-sync"]);
    // The first record after the quiet runs counts them.
    expect(all.map((r) => r.quietRuns)).toEqual([undefined, undefined, undefined, 3, undefined, undefined]);

    expect((await cli(config, ["audit", "verify"])).code).toBe(0);
    const changes = JSON.parse((await cli(config, ["--output", "json", "audit", "show", "--changes"])).stdout) as AuditRecord[];
    expect(changes.map((r) => r.event)).toEqual(["applied", "applied"]);
    expect((await cli(config, ["audit", "show"])).stdout).toContain("after 3 identical in-sync runs not recorded");
  }, 60_000);
});

describe("a record this version cannot read", () => {
  const SOME = ["held missing", "forced not a boolean", "error code free text", "exposure owner unknown"];
  it.each(MALFORMED.filter(([name]) => SOME.includes(name)))("(%s) is named by audit verify and left out by audit show", async (_name, edit, path) => {
    const d = await tempDir("ta-audit-shape-");
    try {
      const auditPath = join(d.path, "audit.jsonl");
      const config = await writeConfig(d.path, {
        staticEntries: ["34.66.25.221"],
        sockets: ["unix:///nonexistent.sock"],
        map: join(d.path, "x.map"),
        auditPath,
      });
      const { lines, head } = chainWithSecond(edit);
      await writeFile(auditPath, `${lines.join("\n")}\n`);
      await writeFile(`${auditPath}.head`, `${JSON.stringify(head)}\n`);
      const verify = await cli(config, ["audit", "verify"]);
      expect(verify.code).toBe(1);
      expect(verify.stdout).toContain(`NOT intact at line 2: not an audit record (${path}: `);
      const json = await cli(config, ["--output", "json", "audit", "show"]);
      expect(json.code).toBe(0);
      expect((JSON.parse(json.stdout) as AuditRecord[]).map((r) => r.runId)).toEqual(["run-1", "run-3"]);
      const text = (await cli(config, ["audit", "show"])).stdout.trim().split("\n");
      expect(text.map((l) => /^#(\d+) .* run (\S+)$/.exec(l)?.slice(1))).toEqual([
        ["1", "run-1"],
        ["3", "run-3"],
      ]);
    } finally {
      await d.remove();
    }
  });
});
