import { chmod, chown, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/schema.js";
import type { ShownRun } from "../../src/cli/render/run.js";
import { cliReadableByAll, NOBODY, runCliAsNobody } from "../support/cli.js";
import { testConfig, writeConfig } from "../support/config.js";
import { type Behaviour, startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { startFakeRuntime } from "../support/fake-runtime.js";
import { travisAddresses } from "../support/fixtures.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { type HaproxyOptions, liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { syncOnce } from "../support/reconcile.js";
import { auditEvents, expectOldOrNew, recordFigure } from "../support/reliability.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

const TRAVIS = travisAddresses();
const PUBLISHED = [...TRAVIS, "127.0.0.21"];
const OLD = ["127.0.0.5 office", "127.0.0.9 travis"];
const NEW = ["127.0.0.5 office", ...PUBLISHED.map((a) => `${a}/32 travis`)];
let dns: RunningDnsServer;
let feed: HttpReceiver;
const running: RunningHaproxy[] = [];
const tried: string[] = [];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  dns = await startDnsServer({ zones: {} });
  feed = await startReceiver([404], (req, res) => {
    if (req.path === "/500") res.writeHead(500).end("boom");
    else if (req.path === "/html") res.writeHead(200, { "content-type": "text/html" }).end("<html>maintenance</html>");
    else if (req.path === "/stalled") res.writeHead(200, { "content-type": "text/plain" }).write("34.66.25.221\n");
    else return false;
  });
});
afterAll(async () => {
  await Promise.all([dns.stop(), feed.stop()]);
  recordFigure("faults", tried.length);
});
// Each test starts from the published set, so any one of them passes alone.
beforeEach(() => {
  dns.zones["nat.travisci.net"] = { A: PUBLISHED };
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
  for (const c of cleanups.splice(0)) await c();
});

async function haproxy(options: HaproxyOptions = {}): Promise<RunningHaproxy> {
  const h = await startHaproxy({ kind: "map", entries: OLD, ...options });
  running.push(h);
  return h;
}

function config(h: RunningHaproxy, dnsTimeoutMs?: number): Config {
  return testConfig({
    resolver: dns.resolver,
    dnsTimeoutMs,
    sockets: [h.unixTarget],
    map: h.listFile,
    extra: { guards: { maxAdditions: 100_000, maxRemovals: 100_000 } },
  });
}

/** The list's version counters from `show map`: a prepared, uncommitted version makes `next` exceed `current`. */
async function listVersions(h: RunningHaproxy): Promise<{ current: number; next: number; count: number }> {
  const line = (await h.command("show map")).split("\n").find((l) => l.includes(`(${h.listFile})`)) ?? "";
  const [, current, next, count] = /curr_ver=(\d+) next_ver=(\d+) entry_cnt=(\d+)/.exec(line) ?? [];
  if (current === undefined) throw new Error(`no version counters for ${h.listFile} in show map: ${line}`);
  return { current: Number(current), next: Number(next), count: Number(count) };
}

/** Every fault ends the same way: old entries or the complete new set, and an audit record of the outcome. */
async function expectOutcome(name: string, h: RunningHaproxy, result: ShownRun, outcome: "old" | "new", auditPath = join(h.dir, "audit.jsonl")): Promise<void> {
  tried.push(name);
  expect(await expectOldOrNew(h, OLD, NEW)).toBe(outcome);
  const events = await auditEvents(auditPath);
  expect(events.at(-1)).toBe(outcome === "new" ? "applied" : "failed");
  expect(result.exitCode).toBe(outcome === "new" ? 0 : 1);
}

describe("fault matrix: sources", () => {
  it.each<[string, Behaviour | "missing"]>([
    ["DNS timeout", "timeout"],
    ["DNS SERVFAIL", "servfail"],
    ["DNS NXDOMAIN", "missing"],
    ["DNS empty answer", "empty"],
  ])("%s changes nothing", async (name, behaviour) => {
    const h = await haproxy();
    if (behaviour === "missing") delete dns.zones["nat.travisci.net"];
    else dns.zones["nat.travisci.net"] = { A: PUBLISHED, behaviour };
    // Silence is the subject of one case: its deadline is kept short.
    await expectOutcome(name, h, await syncOnce(config(h, behaviour === "timeout" ? 300 : undefined)), "old");
  });

  it("DNS truncated over UDP is fetched over TCP and applied", async () => {
    const truncating = await startDnsServer({ truncateUdp: true, zones: { "nat.travisci.net": { A: PUBLISHED } } });
    try {
      const h = await haproxy();
      const result = await syncOnce(
        testConfig({ resolver: truncating.resolver, sockets: [h.unixTarget], map: h.listFile, extra: { guards: { maxAdditions: 1000 } } }),
      );
      expect(truncating.queries.some((q) => q.transport === "tcp")).toBe(true);
      await expectOutcome("DNS truncated UDP answer", h, result, "new");
    } finally {
      await truncating.stop();
    }
  });

  it("a spoofed DNS answer is ignored and the real one applied", async () => {
    const h = await haproxy();
    dns.zones["nat.travisci.net"] = { A: PUBLISHED, behaviour: "spoof" };
    await expectOutcome("DNS spoofed answer ID", h, await syncOnce(config(h)), "new");
  });

  it.each([
    ["HTTP 500", "/500"],
    ["HTTP HTML page", "/html"],
    ["HTTP stalled body", "/stalled"],
  ])("%s changes nothing", async (name, path) => {
    const h = await haproxy();
    const base = config(h);
    const withFeed: Config = {
      ...base,
      sources: [...base.sources, { name: "feed", type: "http", url: `${feed.url}${path}`, format: "lines", timeoutMs: 300, maxBytes: 1_000_000 }],
    };
    await expectOutcome(name, h, await syncOnce(withFeed), "old");
  });
});

describe("fault matrix: HAProxy", () => {
  it("a missing socket fails that instance only", async () => {
    const h = await haproxy();
    const base = config(h);
    const result = await syncOnce({ ...base, haproxy: { ...base.haproxy, sockets: [`unix://${h.dir}/gone.sock`] } });
    expect(result.instances[0]).toMatchObject({ errorCode: "E_HAPROXY_CONNECT", state: "unchanged (nothing was written)" });
    await expectOutcome("socket missing", h, result, "old");
  });

  it("permission denied on the socket (the tool running as an unprivileged user)", async () => {
    const h = await haproxy();
    const dir = (await tempDir("ta-perm-")).path;
    await chmod(dir, 0o755);
    // The unprivileged user's own state directory: private to it, as the tool requires.
    await mkdir(join(dir, "state"), { mode: 0o700 });
    await chown(join(dir, "state"), NOBODY, NOBODY);
    const auditPath = join(dir, "state", "audit.jsonl");
    const path = await writeConfig(dir, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, auditPath });
    await chmod(path, 0o644);
    const readable = await cliReadableByAll();
    cleanups.push(readable.remove);
    const outcome = await runCliAsNobody(readable.cli, ["--config", path, "--output", "json", "sync"]);
    const result = JSON.parse(outcome.stdout) as ShownRun;
    expect(result.instances[0]?.error).toMatch(/permission denied/);
    await expectOutcome("socket permission denied", h, result, "old", auditPath);
  });

  it("a payload larger than HAProxy's buffer (tune.bufsize) is never committed", async () => {
    const h = await haproxy({ global: ["tune.bufsize 4096"] });
    // 400 entries make a payload of about 9 KB: two chunks, each larger than the 4 KB buffer.
    dns.zones["nat.travisci.net"] = { A: Array.from({ length: 400 }, (_, i) => `34.${160 + (i >> 8)}.${i & 255}.3`) };
    const base = config(h);
    const result = await syncOnce({ ...base, haproxy: { ...base.haproxy, timeoutMs: 800 } });
    // HAProxy 2.x drops or stalls such a connection, 3.x answers an error: never a commit.
    expect(result.instances[0]?.errorCode).toMatch(/^E_HAPROXY_(CLOSED|TIMEOUT|ADD)$/);
    expect(result.instances[0]?.state).toBe("unchanged (not committed)");
    tried.push("payload larger than tune.bufsize");
    expect(await expectOldOrNew(h, OLD, [])).toBe("old");
    expect(await auditEvents(join(h.dir, "audit.jsonl"))).toEqual(["intent", "failed"]);
  });

  it("a hung command times out without a change", async () => {
    const h = await haproxy();
    h.signal("SIGSTOP");
    let result: ShownRun;
    try {
      const base = config(h);
      result = await syncOnce({ ...base, haproxy: { ...base.haproxy, timeoutMs: 500 } });
    } finally {
      h.signal("SIGCONT");
    }
    expect(result.instances[0]?.errorCode).toMatch(/^E_HAPROXY_(TIMEOUT|CONNECT)$/);
    await expectOutcome("hung command", h, result, "old");
  });

  it("an error reply to add (a map HAProxy reads as integers) is never committed", async () => {
    const h = await haproxy({ entries: [], rule: (file) => [`http-request set-var(txn.x) int(1),map_int(${file})`] });
    const result = await syncOnce(config(h));
    expect(result.instances[0]).toMatchObject({
      errorCode: "E_HAPROXY_ADD",
      state: "unchanged (not committed)",
      error: expect.stringContaining("is not a number"),
    });
    tried.push("error reply to add");
    expect(await h.command(`show map ${h.listFile}`)).toBe("\n");
    expect(await auditEvents(join(h.dir, "audit.jsonl"))).toEqual(["intent", "failed"]);
  });

  it("the connection closed in the middle of a payload (fake runtime API)", async () => {
    const dir = (await tempDir("ta-fake-")).path;
    const fake = await startFakeRuntime(dir, ["127.0.0.5 office"], { closeMidPayload: true });
    try {
      const result = await syncOnce(testConfig({ resolver: dns.resolver, sockets: [fake.target], map: fake.file, auditPath: join(dir, "audit.jsonl") }));
      expect(result.instances[0]).toMatchObject({ errorCode: "E_HAPROXY_CLOSED", state: "unchanged (not committed)" });
      expect(fake.entries).toEqual(["127.0.0.5 office"]);
      expect(fake.commands.some((c) => c.startsWith("commit"))).toBe(false);
      tried.push("connection closed mid-payload");
      expect(await auditEvents(join(dir, "audit.jsonl"))).toEqual(["intent", "failed"]);
    } finally {
      await fake.stop();
    }
  });

  it("an error reply to commit leaves the old entries (fake runtime API)", async () => {
    const dir = (await tempDir("ta-fake-")).path;
    const fake = await startFakeRuntime(dir, ["127.0.0.5 office"], { commitError: "Out of memory." });
    try {
      dns.zones["nat.travisci.net"] = { A: PUBLISHED };
      const result = await syncOnce(testConfig({ resolver: dns.resolver, sockets: [fake.target], map: fake.file, auditPath: join(dir, "audit.jsonl") }));
      expect(result.instances[0]).toMatchObject({ errorCode: "E_HAPROXY_COMMIT", state: "unchanged (not committed)" });
      expect(fake.entries).toEqual(["127.0.0.5 office"]);
      expect(fake.commands).toContain(`commit map @1 ${fake.file}`);
      tried.push("error reply to commit");
      expect(await auditEvents(join(dir, "audit.jsonl"))).toEqual(["intent", "failed"]);
    } finally {
      await fake.stop();
    }
  });

  it("a CLI that refuses `get map` after a good commit: applied, but the instance fails for want of an exposure check (fake runtime API)", async () => {
    const dir = (await tempDir("ta-fake-")).path;
    const fake = await startFakeRuntime(dir, ["127.0.0.5 office"], { refuseGet: true });
    try {
      dns.zones["nat.travisci.net"] = { A: PUBLISHED };
      const base = testConfig({ resolver: dns.resolver, sockets: [fake.target], map: fake.file, auditPath: join(dir, "audit.jsonl") });
      const result = await syncOnce({ ...base, exclude: ["127.0.0.99/32"] });
      expect(result.exitCode).toBe(1);
      expect(result.instances[0]).toMatchObject({
        status: "failed",
        errorCode: "E_EXPOSURE_CHECK",
        state: "changed and verified; who it admits could not be checked",
      });
      expect([...fake.entries].sort()).toEqual(["127.0.0.5 office", ...PUBLISHED.map((a) => `${a}/32 travis`)].sort());
      tried.push("get map refused after commit");
      expect(await auditEvents(join(dir, "audit.jsonl"))).toEqual(["intent", "failed"]);
    } finally {
      await fake.stop();
    }
  });

  it("an unknown map changes nothing", async () => {
    const h = await haproxy();
    const base = config(h);
    const result = await syncOnce({ ...base, haproxy: { ...base.haproxy, map: "/etc/haproxy/maps/other.map" } });
    expect(result.instances[0]?.errorCode).toBe("E_HAPROXY_UNKNOWN_MAP");
    await expectOutcome("unknown map", h, result, "old");
  });

  it("HAProxy reloaded during the run: each worker holds the old or the new set, and the next run restores", async () => {
    const h = await haproxy({ masterWorker: true });
    // 20 000 entries keep the run's transaction open for a few hundred milliseconds: long enough to see it open and reload inside it.
    const bulk = Array.from({ length: 20_000 }, (_, i) => `34.${150 + (i >> 8)}.${i & 255}.9`);
    const cfg = testConfig({
      resolver: dns.resolver,
      staticEntries: bulk,
      sockets: [h.unixTarget],
      map: h.listFile,
      extra: { guards: { maxAdditions: 100_000, maxRemovals: 100_000 } },
    });
    const bigNew = ["127.0.0.5 office", ...[...bulk, ...PUBLISHED].map((a) => `${a}/32 travis`)];
    let settled = false;
    const run = syncOnce(cfg).finally(() => (settled = true));
    let result: ShownRun;
    try {
      // The run is mid-apply while HAProxy holds a prepared version newer than the live one: prepared, not committed.
      await until(async () => {
        if (settled) throw new Error("the run finished before its transaction was seen open");
        const versions = await listVersions(h);
        return versions.next > versions.current;
      }, "a prepared, uncommitted version of the map");
      expect(settled, "the run was still going when HAProxy was told to reload").toBe(false);
      await h.reload();
    } finally {
      result = await run;
    }
    tried.push("HAProxy reloaded during the run");
    // The new worker loaded the map file, which this run (without persist) never rewrote: it holds the whole old set.
    expect(await listVersions(h)).toEqual({ current: 0, next: 0, count: OLD.length });
    expect(await liveEntries(h)).toEqual([...OLD].sort());
    // The run ended as it reported and audited, on the worker it was talking to: applied there, or failed.
    const events = await auditEvents(join(h.dir, "audit.jsonl"));
    expect(events.at(-1)).toBe(result.exitCode === 0 ? "applied" : "failed");
    expect(["applied", "failed"]).toContain(result.instances[0]?.status);
    const again = await syncOnce(cfg);
    expect(again.exitCode).toBe(0);
    expect(await liveEntries(h)).toEqual([...bigNew].sort());
  });
});
