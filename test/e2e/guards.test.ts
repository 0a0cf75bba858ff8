import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../../src/model/result.js";
import { runCli } from "../support/cli.js";
import { type TestConfigOptions, writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { travisAddresses } from "../support/fixtures.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

const TRAVIS = travisAddresses();
const BUILD = "127.0.0.21";
let dns: RunningDnsServer;
let hook: HttpReceiver;
const running: RunningHaproxy[] = [];

beforeAll(async () => {
  dns = await startDnsServer({ zones: {} });
  hook = await startReceiver();
});
afterAll(async () => {
  await dns.stop();
  await hook.stop();
});
afterEach(async () => {
  hook.requests.length = 0;
  hook.replies = [200];
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

/** Publishes `addresses` and returns a HAProxy whose map holds `owned` as this tool's entries. */
async function setup(published: string[], owned: string[], extra: TestConfigOptions["extra"] = {}) {
  dns.zones["nat.travisci.net"] = { A: published };
  const h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office", ...owned.map((a) => `${a} travis`)] });
  running.push(h);
  const alerts = { on: ["held", "failed", "unexpected", "changed"], sinks: [{ type: "webhook", url: `${hook.url}/hook`, timeoutMs: 1000 }] };
  const config = await writeConfig(h.dir, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, extra: { alerts, ...extra } });
  return { h, config };
}

async function sync(config: string, ...args: string[]): Promise<{ code: number; result: RunResult }> {
  const run = await runCli(["--config", config, "--output", "json", "sync", ...args]);
  return { code: run.code, result: JSON.parse(run.stdout) as RunResult };
}

const hookEvents = () => hook.requests.map((r) => (r.json as { event: string }).event);

describe("guards hold unexpected changes end to end", () => {
  it("a mass removal is held: exit 3, nothing changed, alert sent; --force then applies", async () => {
    const { h, config } = await setup([...TRAVIS.slice(0, 20), BUILD], [...TRAVIS, BUILD]);
    const before = await liveEntries(h);

    const held = await sync(config);
    expect(held.code).toBe(3);
    expect(held.result.held).toMatchObject({
      guard: "maxRemovals",
      message: expect.stringMatching(/^maxRemovals: would remove 22 of 43 owned entries \(51%\), limit 25%: .*sync --plan FILE$/),
    });
    expect(held.result.instances[0]).toMatchObject({ status: "held", add: [] });
    expect(held.result.instances[0]?.remove).toHaveLength(22);
    expect(held.result.alerts).toEqual([{ sink: `webhook ${hook.url}/hook`, event: "held", phase: "firing", ok: true, error: null }]);
    expect(await liveEntries(h)).toEqual(before);
    expect(hookEvents()).toEqual(["held"]);
    expect(hook.requests[0]?.json).toMatchObject({ event: "held", guard: "maxRemovals", counts: { add: 0, remove: 22 }, runId: held.result.runId });

    const forced = await sync(config, "--force");
    expect(forced.code).toBe(0);
    expect(forced.result).toMatchObject({ forced: true, held: null, overridden: [{ guard: "maxRemovals" }], instances: [{ status: "applied" }] });
    expect(await liveEntries(h)).toHaveLength(22);
    expect(await h.statusFrom(BUILD)).toBe(200);
    // The change went out, and the hold it ended is resolved.
    expect(hookEvents()).toEqual(["held", "changed", "held"]);
    expect(hook.requests.map((r) => (r.json as { phase: string }).phase)).toEqual(["firing", "firing", "resolved"]);
  });

  it("a thousand-entry jump from a source that usually returns 55 is held", async () => {
    const usual = Array.from({ length: 55 }, (_, i) => `34.66.1.${i}`);
    const jump = Array.from({ length: 1000 }, (_, i) => `35.${200 + (i >> 8)}.${i & 255}.1`);
    const { h, config } = await setup([...usual, ...jump], usual);
    const before = await liveEntries(h);
    const { code, result } = await sync(config);
    expect(code).toBe(3);
    expect(result.held?.message).toMatch(/^maxAdditions: would add 1000 to 55 owned entries \(1818%\), limit 50%/);
    expect(await liveEntries(h)).toEqual(before);
  });

  it("entries outside guards.expected are held and raise an unexpected alert", async () => {
    const { h, config } = await setup([...TRAVIS, "8.8.8.8"], TRAVIS, { guards: { expected: ["34.0.0.0/8", "35.0.0.0/8", "104.0.0.0/8"] } });
    const { code, result } = await sync(config);
    expect(code).toBe(3);
    expect(result).toMatchObject({ held: { guard: "expected" }, unexpected: ["8.8.8.8/32"] });
    expect(hookEvents().sort()).toEqual(["held", "unexpected"]);
    expect(await liveEntries(h)).not.toContain("8.8.8.8/32 travis");
  });

  it("minEntries holds even with --force", async () => {
    const { h, config } = await setup(TRAVIS.slice(0, 3), TRAVIS, { guards: { minEntries: 30 } });
    const before = await liveEntries(h);
    const { code, result } = await sync(config, "--force");
    expect(code).toBe(3);
    expect(result.held?.guard).toBe("minEntries");
    expect(await liveEntries(h)).toEqual(before);
  });

  it("a held run holds every instance, not only the one that tripped", async () => {
    dns.zones["nat.travisci.net"] = { A: TRAVIS.slice(0, 20) };
    const [a, b] = [
      await startHaproxy({ entries: TRAVIS.map((t) => `${t} travis`) }),
      await startHaproxy({ entries: TRAVIS.slice(0, 20).map((t) => `${t} travis`) }),
    ];
    running.push(a, b);
    // Both instances load a map at the same path, as replicas do.
    const config = await writeConfig(a.dir, { resolver: dns.resolver, sockets: [a.unixTarget, b.unixTarget], map: a.listFile });
    const { code, result } = await sync(config);
    expect(code).toBe(1);
    expect(result.instances[0]?.status).toBe("held");
    expect(result.instances[1]?.errorCode).toBe("E_HAPROXY_UNKNOWN_MAP");
    expect(await liveEntries(a)).toHaveLength(TRAVIS.length);
  });

  it("an undelivered alert is reported, never with its secrets, and does not change the exit code", async () => {
    hook.replies = [400];
    dns.zones["nat.travisci.net"] = { A: TRAVIS.slice(0, 20) };
    const h = await startHaproxy({ kind: "map", entries: TRAVIS.map((a) => `${a} travis`) });
    running.push(h);
    const sinks = [
      { type: "webhook", url: "${HOOK_URL}", headers: { Authorization: "Bearer ${HOOK_TOKEN}" }, timeoutMs: 1000 },
      { type: "slack", url: "${SLACK_URL}", timeoutMs: 300 },
    ];
    const config = await writeConfig(h.dir, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, extra: { alerts: { sinks } } });
    const env = { HOOK_URL: `${hook.url}/hooks/sekrit-path`, HOOK_TOKEN: "sekrit-token", SLACK_URL: "http://127.0.0.1:1/services/T0/B0/sekrit-slack" };
    const run = await runCli(["--config", config, "--output", "json", "sync"], { env });
    expect(run.code).toBe(3);
    const result = JSON.parse(run.stdout) as RunResult;
    expect(result.alerts).toEqual([
      {
        sink: `webhook ${hook.url}/hooks/***`,
        event: "held",
        phase: "firing",
        ok: false,
        error: expect.stringContaining("HTTP 400"),
        errorCode: "E_ALERT_HTTP",
      },
      {
        sink: "slack http://127.0.0.1:1/services/***",
        event: "held",
        phase: "firing",
        ok: false,
        error: expect.stringContaining("ECONNREFUSED"),
        errorCode: "E_ALERT_NETWORK",
      },
    ]);
    expect(hook.requests[0]?.headers.authorization).toBe("Bearer sekrit-token");
    expect(run.stdout + run.stderr).not.toContain("sekrit");
    const check = await runCli(["--config", config, "config", "check"], { env });
    expect(check.stdout).toContain(`${hook.url}/hooks/***`);
    expect(check.stdout + check.stderr).not.toContain("sekrit");
  });

  it("a dry run reports the hold but sends no alert", async () => {
    const { config } = await setup([...TRAVIS.slice(0, 20)], TRAVIS);
    const { code, result } = await sync(config, "--dry-run");
    expect(code).toBe(3);
    expect(result.held?.guard).toBe("maxRemovals");
    expect(hook.requests).toHaveLength(0);
  });
});

describe("bad input is refused with a clear error, even with --force", () => {
  it.each([
    ["0.0.0.0/0", "broader than /16"],
    ["::/0", "admits every IPv4 client as 0.0.0.0/0 through IPv4-mapped IPv6 (::ffff:0:0/96); broader than /16 (guards.minPrefixV4); broader than /32"],
    ["10.0.0.0/8", "broader than /16"],
    ["10.1.0.0/16", "reserved range: private"],
    ["1.2.3.0/8", "host bits set"],
    ["999.1.1.1", "not an IPv4 address"],
    ["1.2.3.4;clear map /x", "not an IPv4 address"],
    ["1.2.3.4\nclear map /x", "not an IPv4 address"],
  ])("%j", async (bad, reason) => {
    dns.zones["nat.travisci.net"] = { A: TRAVIS };
    const h = await startHaproxy({ kind: "map", entries: TRAVIS.map((a) => `${a} travis`) });
    running.push(h);
    const withBad = await writeConfig(h.dir, {
      resolver: dns.resolver,
      staticEntries: [bad],
      sockets: [h.unixTarget],
      map: h.listFile,
      extra: { guards: { allowReserved: false } },
    });
    const before = await liveEntries(h);
    const { code, result } = await sync(withBad, "--force");
    expect(code).toBe(1);
    expect(result.error).toMatchObject({ code: "E_DESIRED_REJECTED", message: expect.stringContaining(`source pinned: ${JSON.stringify(bad)}: ${reason}`) });
    expect(await liveEntries(h)).toEqual(before);
  });
});
