import { readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createNotifier } from "../../src/alert/notifier.js";
import type { AuditRecord } from "../../src/audit/record.js";
import { literalSecrets } from "../../src/config/redact.js";
import type { Config } from "../../src/config/schema.js";
import { inspect } from "../../src/reconcile/status.js";
import { shownStatus } from "../../src/cli/render/run.js";
import { absenceStatePath } from "../../src/state/absence-store.js";
import type { ExplainReport } from "../../src/reconcile/explain.js";
import { logLines, runCli } from "../support/cli.js";
import { testConfig, writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { haproxyBinaries, liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { realDeps, syncOnce } from "../support/reconcile.js";
import { tempDir } from "../support/tmp.js";
import { Scrubber } from "../../src/util/secrets.js";

const T0 = Date.parse("2026-11-26T18:00:00.000Z");
const MINUTE = 60_000;
const PUBLISHED = ["127.0.0.21", "127.0.0.22"];
const HAND_ADDED = "127.0.0.66";
const UNLISTED = "127.0.0.99";

let dns: RunningDnsServer;
let receiver: HttpReceiver;
const running: RunningHaproxy[] = [];

beforeAll(async () => {
  dns = await startDnsServer({ zones: {} });
  receiver = await startReceiver();
});
afterAll(async () => {
  await Promise.all([dns.stop(), receiver.stop()]);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
  receiver.requests.splice(0);
});

const at = (minutes: number) => ({ now: () => new Date(T0 + minutes * MINUTE) });
const records = async (config: Config) =>
  (await readFile(config.audit.path, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
const alertEvents = () => receiver.requests.map((r) => (r.json as { event: string }).event);

describe.each(haproxyBinaries())("who gets in, on HAProxy $version", ({ bin }) => {
  async function start(entries: string[], kind: "map" | "acl" = "map"): Promise<RunningHaproxy> {
    const h = await startHaproxy({ bin, kind, entries });
    running.push(h);
    return h;
  }

  function config(h: RunningHaproxy, extra: Record<string, unknown> = {}, staticEntries?: string[]): Config {
    const { guards, ...rest } = extra as { guards?: Record<string, unknown> };
    return testConfig({
      resolver: dns.resolver,
      ...(staticEntries ? { staticEntries } : {}),
      sockets: [h.unixTarget],
      map: h.listFile,
      kind: h.kind,
      extra: { guards: { removeAfter: "1h", ...guards }, alerts: { on: ["drift", "exposure"], sinks: [{ type: "webhook", url: receiver.url }] }, ...rest },
    });
  }

  const sync = (c: Config, minutes: number, options = {}) =>
    syncOnce(c, options, { ...at(minutes), notifier: createNotifier(c.alerts?.sinks ?? [], { scrubber: new Scrubber(literalSecrets(c)) }) });
  const status = async (c: Config, minutes: number) => shownStatus(await inspect(c, { ...realDeps(c), ...at(minutes) }), { detailedExitcode: true });

  it("an entry added by hand with the tool's value is drift: listed by status, denied after one sync despite removeAfter 1h, alerted", async () => {
    dns.zones["nat.travisci.net"] = { A: PUBLISHED };
    const h = await start(["127.0.0.5 office"]);
    const c = config(h);
    expect((await sync(c, 0)).exitCode).toBe(0);

    await h.command(`add map ${h.listFile} ${HAND_ADDED} travis`);
    expect(await h.statusFrom(HAND_ADDED)).toBe(200);
    // A published address that disappears keeps its grace period.
    dns.zones["nat.travisci.net"] = { A: [PUBLISHED[0] as string] };

    const report = await status(c, 5);
    expect(report.exitCode).toBe(2);
    expect(report.instances[0]).toMatchObject({ inSync: false, unexpected: [`${HAND_ADDED}/32`], pendingRemoval: [{ entry: `${PUBLISHED[1]}/32` }] });

    const result = await sync(c, 10);
    expect(result.exitCode).toBe(0);
    expect(result.instances[0]).toMatchObject({
      status: "applied",
      remove: [`${HAND_ADDED}/32`],
      unexpected: [`${HAND_ADDED}/32`],
      pendingRemoval: [{ entry: `${PUBLISHED[1]}/32`, removeAt: new Date(T0 + 70 * MINUTE).toISOString() }],
    });
    expect(await h.statusFrom(HAND_ADDED)).toBe(403);
    expect(await h.statusFrom(PUBLISHED[1] as string)).toBe(200);
    expect(await h.statusFrom("127.0.0.5")).toBe(200);
    expect(alertEvents()).toEqual(["drift"]);
    expect((await records(c)).at(-1)).toMatchObject({ event: "applied", instances: [{ unexpected: [`${HAND_ADDED}/32`] }] });
    expect(result.flaps).toEqual({});
  });

  it("a published address this tool removed and someone put back by hand is drift, denied again after one sync, and no flap", async () => {
    dns.zones["nat.travisci.net"] = { A: PUBLISHED };
    const h = await start([]);
    const c = config(h);
    await sync(c, 0);
    dns.zones["nat.travisci.net"] = { A: [PUBLISHED[0] as string] };
    expect((await sync(c, 1, { noGrace: true })).instances[0]).toMatchObject({ status: "applied", remove: [`${PUBLISHED[1]}/32`] });
    receiver.requests.splice(0);

    for (const minutes of [2, 3]) {
      await h.command(`add map ${h.listFile} ${PUBLISHED[1]} travis`);
      expect(await h.statusFrom(PUBLISHED[1] as string)).toBe(200);
      const report = await status(c, minutes);
      expect(report.exitCode).toBe(2);
      expect(report.instances[0]).toMatchObject({ unexpected: [`${PUBLISHED[1]}/32`], pendingRemoval: [] });
      const result = await sync(c, minutes);
      expect(result.instances[0]).toMatchObject({ status: "applied", remove: [`${PUBLISHED[1]}/32`], unexpected: [`${PUBLISHED[1]}/32`] });
      expect(result.flaps).toEqual({});
      expect(await h.statusFrom(PUBLISHED[1] as string)).toBe(403);
    }
    expect(alertEvents()).toEqual(["drift", "drift"]);
  });

  it("on the first run, with no state, an owned entry nobody published keeps the grace period and the result says why", async () => {
    dns.zones["nat.travisci.net"] = { A: PUBLISHED };
    const h = await start([`${HAND_ADDED} travis`]);
    const result = await sync(config(h), 0);
    expect(result.stateNotice).toMatch(/^no removal state yet: 1 owned entry absent upstream keeps the grace period/);
    expect(result.instances[0]).toMatchObject({ unexpected: [], pendingRemoval: [{ entry: `${HAND_ADDED}/32` }] });
    expect(await h.statusFrom(HAND_ADDED)).toBe(200);
  });

  it("an owned entry that vanished behind the tool's back is drift, restored and alerted", async () => {
    dns.zones["nat.travisci.net"] = { A: PUBLISHED };
    const h = await start([]);
    const c = config(h);
    await sync(c, 0);
    await h.command(`del map ${h.listFile} ${PUBLISHED[0]}/32`);
    expect(await h.statusFrom(PUBLISHED[0] as string)).toBe(403);
    const result = await sync(c, 1);
    expect(result.instances[0]).toMatchObject({ status: "applied", add: [`${PUBLISHED[0]}/32`], vanished: [`${PUBLISHED[0]}/32`] });
    expect(await h.statusFrom(PUBLISHED[0] as string)).toBe(200);
    expect(alertEvents()).toEqual(["drift"]);
  });

  it("a restarted HAProxy that loaded an older map file is restored, but that is no drift: nobody took the entries away", async () => {
    dns.zones["nat.travisci.net"] = { A: PUBLISHED };
    const dir = await tempDir("ta-restart-");
    const h = await startHaproxy({ bin, kind: "map", dir: dir.path, entries: [] });
    const c = config(h);
    await sync(c, 0);
    // The same socket and map file, a new process: the file still holds what it held at the first start.
    await h.stop();
    const restarted = await startHaproxy({ bin, kind: "map", dir: dir.path, listFile: h.listFile, keepListFile: true });
    running.push({ ...restarted, stop: async () => (await restarted.stop(), await dir.remove()) });
    expect(await restarted.statusFrom(PUBLISHED[0] as string)).toBe(403);
    const result = await sync(c, 1);
    expect(result.instances[0]).toMatchObject({ status: "applied", add: PUBLISHED.map((a) => `${a}/32`).sort(), vanished: [] });
    expect(await restarted.statusFrom(PUBLISHED[0] as string)).toBe(200);
    expect(alertEvents()).toEqual([]);
  });

  it.each(["::/32", "::ffff:0:0/96", "::ffff:127.0.0.0/104", "0:0:0:0:0:ffff:7f00:0/104", "0000:0000:0000:0000:0000:FFFF:0000:0000/96", "::/0"])(
    "%s is refused even with allowReserved on, and an unlisted client stays denied",
    async (range) => {
      const h = await start(["127.0.0.5 office"]);
      const before = await liveEntries(h);
      const result = await syncOnce(config(h, { sources: [{ name: "pinned", type: "static", entries: ["127.0.0.21", range] }] }));
      expect(result.exitCode).toBe(1);
      expect(result.error).toMatchObject({ code: "E_DESIRED_REJECTED", message: expect.stringContaining(JSON.stringify(range)) });
      expect(await liveEntries(h)).toEqual(before);
      expect(await h.statusFrom(UNLISTED)).toBe(403);
    },
  );

  it("an IPv4-mapped address is written as IPv4 and merged with the same address, never twice", async () => {
    const h = await start([]);
    const result = await syncOnce(
      config(h, { sources: [{ name: "pinned", type: "static", entries: ["127.0.0.21", "::ffff:127.0.0.21", "::ffff:7f00:16/128"] }] }),
    );
    expect(result.exitCode).toBe(0);
    expect(await liveEntries(h)).toEqual(["127.0.0.21/32 travis", "127.0.0.22/32 travis"]);
    expect(await h.statusFrom(UNLISTED)).toBe(403);
  });

  it("previousValues: one transaction rewrites every old-value entry, leaving no old values, no duplicates, foreign entries kept", async () => {
    const h = await start([`${PUBLISHED[0]} travis-old`, `${PUBLISHED[1]}/32 travis-old`, `${PUBLISHED[1]}/32 travis`, "127.0.0.5 office"]);
    const plain = config(h, {}, PUBLISHED);
    const c = { ...plain, sources: plain.sources.filter((s) => s.type === "static"), haproxy: { ...plain.haproxy, previousValues: ["travis-old"] } };
    const pending = await status(c, 0);
    expect(pending.instances[0]).toMatchObject({
      inSync: false,
      rewrite: [`${PUBLISHED[0]}/32`],
      duplicates: [{ entry: `${PUBLISHED[1]}/32`, values: ["travis", "travis-old"] }],
    });
    const before = /curr_ver=(\d+)/.exec(await h.command("show map"))?.[1];
    const result = await syncOnce(c);
    expect(result.exitCode).toBe(0);
    expect(result.instances[0]).toMatchObject({
      status: "applied",
      add: [],
      remove: [],
      rewrite: [`${PUBLISHED[0]}/32`],
      superseded: 2,
      duplicates: [],
    });
    expect(await liveEntries(h)).toEqual(["127.0.0.21/32 travis", "127.0.0.22/32 travis", "127.0.0.5 office"]);
    expect(Number(/curr_ver=(\d+)/.exec(await h.command("show map"))?.[1])).toBe(Number(before) + 1);
    for (const address of [...PUBLISHED, "127.0.0.5"]) expect(await h.statusFrom(address)).toBe(200);

    const excluded = await syncOnce({ ...c, exclude: [`${PUBLISHED[1]}/32`] });
    expect(excluded.instances[0]).toMatchObject({ status: "applied", remove: [`${PUBLISHED[1]}/32`], exposures: [] });
    expect(await h.statusFrom(PUBLISHED[1] as string)).toBe(403);
  });

  it("a value changed without previousValues: the duplicate is reported, and an excluded address still admitted by the old copy is an exposure", async () => {
    const h = await start([`${PUBLISHED[0]}/32 travis-old`, "127.0.0.5 office"]);
    const c = config(h, {}, [PUBLISHED[0] as string]);
    const statics = { ...c, sources: c.sources.filter((s) => s.type === "static") };
    expect((await syncOnce(statics)).exitCode).toBe(0);
    const report = await status(statics, 1);
    expect(report.exitCode).toBe(2);
    expect(report.instances[0]).toMatchObject({ inSync: true, duplicates: [{ entry: `${PUBLISHED[0]}/32`, values: ["travis", "travis-old"] }] });

    const result = await sync({ ...statics, sources: [{ name: "pinned", type: "static", entries: ["127.0.0.23"] }], exclude: [`${PUBLISHED[0]}/32`] }, 2);
    expect(result.exitCode).toBe(0);
    expect(result.instances[0]?.exposures).toEqual([
      { address: PUBLISHED[0], entry: `${PUBLISHED[0]}/32`, value: "travis-old", owner: "foreign", reason: "excluded" },
    ]);
    expect(await h.statusFrom(PUBLISHED[0] as string)).toBe(200);
    expect(alertEvents()).toContain("exposure");
  });

  it("exposures: an excluded address admitted by a foreign range, a removed one still admitted, and a foreign entry broader than the guards", async () => {
    dns.zones["nat.travisci.net"] = { A: ["127.0.0.21", "127.0.1.30"] };
    const h = await start(["127.0.1.0/24 office", "::ffff:0:0/97 legacy"]);
    const c = config(h, { guards: { removeAfter: "0" }, exclude: ["127.0.1.7/32"] });
    expect((await sync(c, 0)).exitCode).toBe(0);
    dns.zones["nat.travisci.net"] = { A: ["127.0.0.21"] };
    const result = await sync(c, 1);
    expect(result.exitCode).toBe(0);
    expect(result.instances[0]?.status).toBe("applied");
    expect(result.instances[0]?.exposures).toEqual([
      { address: "127.0.1.7", entry: "127.0.1.0/24", value: "office", owner: "foreign", reason: "excluded" },
      { address: "127.0.1.30", entry: "127.0.1.0/24", value: "office", owner: "foreign", reason: "removed" },
      { address: "0.0.0.0", entry: "0.0.0.0/1", key: "::ffff:0:0/97", value: "legacy", owner: "foreign", reason: "too-broad" },
    ]);
    expect(alertEvents().filter((e) => e === "exposure")).toHaveLength(2);

    const report = await status(c, 2);
    expect(report.exitCode).toBe(2);
    expect(report.instances[0]?.exposures.map((e) => e.reason)).toEqual(["excluded", "removed", "too-broad"]);
  });

  it("a held run still says who gets in, and entries inside an excluded or removed range are asked about too", async () => {
    dns.zones["nat.travisci.net"] = { A: PUBLISHED };
    const h = await start(["127.0.2.64/26 office", "127.0.5.128/25 office"]);
    const c = config(h, { guards: { removeAfter: "0" }, exclude: ["127.0.2.0/24"] }, ["127.0.5.0/24"]);
    expect((await sync(c, 0)).exitCode).toBe(0);
    const withoutRange = { ...c, sources: c.sources.filter((s) => s.type !== "static") };
    const removed = await sync(withoutRange, 1);
    expect(removed.instances[0]).toMatchObject({ status: "applied", remove: ["127.0.5.0/24"] });
    expect(removed.instances[0]?.exposures?.map((e) => [e.address, e.entry, e.reason])).toEqual([
      ["127.0.2.64", "127.0.2.64/26", "excluded"],
      ["127.0.5.128", "127.0.5.128/25", "removed"],
    ]);
    for (const address of ["127.0.2.70", "127.0.5.200"]) expect(await h.statusFrom(address)).toBe(200);

    // A hand-added entry and a guard that holds its removal: nothing is applied, the exposures are still reported and alerted.
    await h.command(`add map ${h.listFile} ${HAND_ADDED} travis`);
    receiver.requests.splice(0);
    const held = await sync({ ...withoutRange, guards: { ...withoutRange.guards, maxRemovals: { count: 0 } } }, 2);
    expect(held.exitCode).toBe(3);
    expect(held.instances[0]?.exposures?.map((e) => e.reason)).toEqual(["excluded", "removed"]);
    expect(alertEvents()).toEqual(["drift", "exposure"]);
    expect((receiver.requests[0]?.json as { summary: string }).summary).toContain("held, not removed");
  });

  it("sync --dry-run, status and explain are views of one planned run, and the sync that follows applies exactly that plan", async () => {
    dns.zones["nat.travisci.net"] = { A: PUBLISHED };
    const h = await start(["127.0.1.0/24 office"]);
    const extra = { exclude: ["127.0.1.7/32"] };
    const c = config(h, extra);
    await sync(c, 0);
    await h.command(`add map ${h.listFile} ${HAND_ADDED} travis`);
    dns.zones["nat.travisci.net"] = { A: [PUBLISHED[0] as string, "127.0.0.23"] };

    const dry = (await sync(c, 5, { dryRun: true })).instances[0];
    expect(dry).toMatchObject({
      status: "planned",
      add: ["127.0.0.23/32"],
      remove: [`${HAND_ADDED}/32`],
      unexpected: [`${HAND_ADDED}/32`],
      pendingRemoval: [{ entry: `${PUBLISHED[1]}/32` }],
      exposures: [{ address: "127.0.1.7", entry: "127.0.1.0/24", reason: "excluded" }],
    });
    const report = (await status(c, 5)).instances[0];
    expect(report).toMatchObject({
      missing: dry?.add,
      remove: dry?.remove,
      unexpected: dry?.unexpected,
      pendingRemoval: dry?.pendingRemoval,
      exposures: dry?.exposures,
    });

    const path = await writeConfig(h.dir, {
      resolver: dns.resolver,
      sockets: [h.unixTarget],
      map: h.listFile,
      extra: { ...extra, guards: { removeAfter: "1h" } },
    });
    const explained = JSON.parse(
      (await runCli(["--config", path, "--output", "json", "explain", "127.0.0.23", HAND_ADDED, PUBLISHED[1] as string])).stdout,
    ) as ExplainReport;
    expect(
      explained.addresses.map((a) => [a.address, a.desired, a.instances[0]?.admitted, a.instances[0]?.unexpected, a.instances[0]?.pendingRemoval !== null]),
    ).toEqual([
      ["127.0.0.23", true, false, false, false],
      [HAND_ADDED, false, true, true, false],
      [PUBLISHED[1], false, true, false, true],
    ]);

    const applied = (await sync(c, 5)).instances[0];
    expect(applied).toMatchObject({ status: "applied", add: dry?.add, remove: dry?.remove, unexpected: dry?.unexpected, pendingRemoval: dry?.pendingRemoval });
    expect(applied?.exposures).toEqual(dry?.exposures);
    expect(await h.statusFrom("127.0.0.23")).toBe(200);
    expect(await h.statusFrom(HAND_ADDED)).toBe(403);
  });

  it("explain says when an owned entry was never planned", async () => {
    dns.zones["nat.travisci.net"] = { A: PUBLISHED };
    const h = await start([]);
    const c = config(h);
    await syncOnce(c);
    await h.command(`add map ${h.listFile} ${HAND_ADDED} travis`);
    const path = await writeConfig(h.dir, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, extra: { guards: { removeAfter: "1h" } } });
    const text = await runCli(["--config", path, "explain", HAND_ADDED]);
    expect(text.stdout).toContain(
      `admitted by this tool's entry ${HAND_ADDED}/32 (held as ${HAND_ADDED}) travis; never planned by this tool (drift): the next sync removes it`,
    );
  });

  it("a value changed without previousValues: the old copies changed hands, they did not vanish", async () => {
    dns.zones["nat.travisci.net"] = { A: PUBLISHED };
    const h = await start([]);
    const c = config(h);
    await sync(c, 0);
    const renamed = { ...c, haproxy: { ...c.haproxy, value: "ci" } };
    const report = await status(renamed, 1);
    expect(report.instances[0]).toMatchObject({ vanished: [], missing: PUBLISHED.map((a) => `${a}/32`) });
  });

  it("a held run writes no removal state", async () => {
    dns.zones["nat.travisci.net"] = { A: PUBLISHED };
    const h = await start([]);
    const c = config(h, { guards: { removeAfter: "0", maxRemovals: 0 } });
    await sync(c, 0);
    const path = absenceStatePath(dirname(c.audit.path), h.listFile);
    const before = { text: await readFile(path, "utf8"), mtime: (await stat(path)).mtimeMs };
    dns.zones["nat.travisci.net"] = { A: [PUBLISHED[0] as string] };
    for (const options of [{}, { noGrace: true }]) {
      const held = await sync(c, 5, options);
      expect(held.exitCode).toBe(3);
    }
    expect({ text: await readFile(path, "utf8"), mtime: (await stat(path)).mtimeMs }).toEqual(before);
  });

  describe("explain", () => {
    it("on a map: an owned, a foreign and a denied address, with provenance, history and HAProxy's own answer", async () => {
      dns.zones["nat.travisci.net"] = { A: PUBLISHED };
      const h = await start(["127.0.0.5 office"]);
      const options = { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, extra: { guards: { removeAfter: "0" } } };
      const path = await writeConfig(h.dir, options);
      expect((await runCli(["--config", path, "sync"])).code).toBe(0);
      dns.zones["nat.travisci.net"] = { A: [PUBLISHED[0] as string] };
      expect((await runCli(["--config", path, "sync"])).code).toBe(0);

      const json = await runCli(["--config", path, "--output", "json", "explain", "127.0.0.21", "127.0.0.5", "127.0.0.22", UNLISTED]);
      expect(json.code).toBe(0);
      const report = JSON.parse(json.stdout) as ExplainReport;
      const [owned, foreign, removed, unlisted] = report.addresses;
      expect(owned).toMatchObject({
        address: "127.0.0.21",
        desired: true,
        provenance: [{ source: "travis-dns", entry: "127.0.0.21/32", name: "nat.travisci.net", resolver: dns.resolver, firstSeen: expect.any(String) }],
        instances: [
          {
            target: h.unixTarget,
            admitted: true,
            entry: "127.0.0.21/32",
            value: "travis",
            owner: "self",
            pendingRemoval: null,
            history: [{ action: "added", entry: "127.0.0.21/32", actor: expect.stringContaining("(manual)") }],
          },
        ],
      });
      expect(foreign).toMatchObject({
        desired: false,
        provenance: [],
        instances: [{ admitted: true, entry: "127.0.0.5/32", key: "127.0.0.5", value: "office", owner: "foreign", unexpected: false, history: [] }],
      });
      expect(removed).toMatchObject({
        desired: false,
        instances: [{ admitted: false, entry: null, owner: null, history: [{ action: "added" }, { action: "removed", entry: "127.0.0.22/32" }] }],
      });
      const runIds = (removed?.instances[0]?.history ?? []).map((item) => item.runId);
      expect(new Set(runIds).size).toBe(2);
      expect(unlisted).toMatchObject({ desired: false, instances: [{ admitted: false, history: [] }] });
      // HAProxy's answer is the real one: traffic agrees with it.
      for (const a of report.addresses) expect(await h.statusFrom(a.address)).toBe(a.instances[0]?.admitted ? 200 : 403);

      const text = await runCli(["--config", path, "explain", "127.0.0.22"]);
      expect(text.stdout).toContain(`127.0.0.22\n  desired: no`);
      expect(text.stdout).toContain(`${h.unixTarget}: DENIED (no entry matches)`);
      expect(text.stdout).toMatch(/added 127\.0\.0\.22\/32 by run \S+/);
      expect(text.stdout).toMatch(/removed 127\.0\.0\.22\/32 by run \S+/);
    });

    it("on an ACL: every match is this tool's entry, a pending removal is shown, a denied address is denied", async () => {
      dns.zones["nat.travisci.net"] = { A: PUBLISHED };
      const h = await start([], "acl");
      // The CLI reads the real clock, so these runs do too.
      const c = config(h);
      await syncOnce(c);
      dns.zones["nat.travisci.net"] = { A: [PUBLISHED[0] as string] };
      await syncOnce(c);
      const path = await writeConfig(h.dir, {
        resolver: dns.resolver,
        sockets: [h.unixTarget],
        map: h.listFile,
        kind: "acl",
        extra: { guards: { removeAfter: "1h" } },
      });
      const report = JSON.parse(
        (await runCli(["--config", path, "--output", "json", "explain", "127.0.0.21", "127.0.0.22", UNLISTED])).stdout,
      ) as ExplainReport;
      expect(report.addresses.map((a) => [a.desired, a.instances[0]?.admitted, a.instances[0]?.owner, a.instances[0]?.entry, a.instances[0]?.value])).toEqual([
        [true, true, "self", "127.0.0.21/32", null],
        [false, true, "self", "127.0.0.22/32", null],
        [false, false, null, null, null],
      ]);
      expect(report.addresses[1]?.instances[0]?.pendingRemoval).toEqual(expect.any(String));
    });

    it("--detailed-exitcode exits 2 when instances disagree; a bad address is a usage error naming it", async () => {
      dns.zones["nat.travisci.net"] = { A: PUBLISHED };
      const h = await start([]);
      const second = await startHaproxy({ bin, kind: "map", listFile: h.listFile, keepListFile: true, dir: h.dir, socketName: "second.sock" });
      running.push(second);
      await syncOnce(config(h));
      const path = await writeConfig(h.dir, { resolver: dns.resolver, sockets: [h.unixTarget, second.unixTarget], map: h.listFile });
      const disagree = await runCli(["--config", path, "--output", "json", "explain", "--detailed-exitcode", "127.0.0.21"]);
      expect(disagree.code).toBe(2);
      expect((JSON.parse(disagree.stdout) as ExplainReport).addresses[0]?.instances.map((i) => i.admitted)).toEqual([true, false]);
      // Both admit, one through this tool's entry and one through a foreign range: still a disagreement.
      await second.command(`add map ${h.listFile} 0.0.0.0/1 legacy`);
      const bothAdmit = await runCli(["--config", path, "--output", "json", "explain", "--detailed-exitcode", "127.0.0.21"]);
      expect(bothAdmit.code).toBe(2);
      expect((JSON.parse(bothAdmit.stdout) as ExplainReport).addresses[0]?.instances.map((i) => [i.admitted, i.entry, i.owner])).toEqual([
        [true, "127.0.0.21/32", "self"],
        [true, "0.0.0.0/1", "foreign"],
      ]);
      expect((await runCli(["--config", path, "explain", "127.0.0.21"])).code).toBe(0);
      const bad = await runCli(["--config", path, "explain", "127.0.0.0/24"]);
      expect(bad.code).toBe(64);
      expect(logLines(bad.stderr).map((l) => (l.err as { message: string }).message)).toEqual([
        expect.stringContaining('"127.0.0.0/24" is not a client address'),
      ]);
    });
  });
});
