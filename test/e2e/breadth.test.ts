import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseCidr } from "../../src/model/cidr.js";
import { reservedRange } from "../../src/model/reserved.js";
import type { RunResult } from "../../src/model/result.js";
import type { StatusReport } from "../../src/model/status.js";
import { runCli } from "../support/cli.js";
import { configDocument, writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { travisAddresses } from "../support/fixtures.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";

/** Every /16 of the unicast IPv4 space, 1.0.0.0/16 to 223.255.0.0/16. */
const ALL_SLASH16S = Array.from({ length: 223 * 256 }, (_, i) => `${1 + (i >> 8)}.${i & 255}.0.0/16`);
const PUBLIC_SLASH16S = ALL_SLASH16S.filter((text) => {
  const parsed = parseCidr(text);
  return parsed.ok && reservedRange(parsed.cidr) === undefined;
});
const OWNED = ["34.66.25.221 travis", "35.186.1.2 travis"];
/** Admitted by every one of the feed's /16s, and by nothing in the map before the run. */
const OUTSIDER = "8.8.8.8";

let feed: HttpReceiver;
let hook: HttpReceiver;
const running: RunningHaproxy[] = [];

beforeAll(async () => {
  feed = await startReceiver([404], (request, res) => {
    const body = request.path === "/public.txt" ? PUBLIC_SLASH16S : request.path === "/all.txt" ? ALL_SLASH16S : undefined;
    if (!body) return false;
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`${body.join("\n")}\n`);
  });
  hook = await startReceiver();
});
afterAll(async () => {
  await feed.stop();
  await hook.stop();
});
afterEach(async () => {
  hook.requests.length = 0;
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

/** A map owning two entries beside a foreign one, and a config reading `path` from the feed with the product's default guards. */
async function setup(path: string, guards: Record<string, unknown>) {
  const h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office", ...OWNED] });
  running.push(h);
  const document = configDocument({ sockets: [h.unixTarget], map: h.listFile });
  const config = join(h.dir, "travis-allowlist.yaml");
  await writeFile(
    config,
    stringify({
      ...document,
      sources: [{ name: "feed", type: "http", url: `${feed.url}${path}`, format: "lines" }],
      guards: { removeAfter: "0", ...guards },
      alerts: { on: ["held", "failed"], sinks: [{ type: "webhook", url: `${hook.url}/hook`, timeoutMs: 5000 }] },
    }),
  );
  return { h, config };
}

async function sync(config: string, ...args: string[]): Promise<{ code: number; result: RunResult }> {
  // The result lists every planned addition: a few megabytes here.
  const run = await runCli(["--config", config, "--output", "json", "sync", ...args], { maxBuffer: 64 * 1024 * 1024 });
  return { code: run.code, result: JSON.parse(run.stdout) as RunResult };
}

/** HAProxy's own matcher: whether the map has an entry for `address`. */
async function admits(h: RunningHaproxy, address: string): Promise<boolean> {
  const answer = await h.command(`get map ${h.listFile} ${address}`);
  return /\bfound=yes\b/.test(answer);
}

describe("maxAddresses: the desired set as a whole", () => {
  it("56,488 public /16s into a map owning two entries are held on the first run: dry run, sync and --force alike, nothing written", async () => {
    expect(PUBLIC_SLASH16S).toHaveLength(56_488);
    const { h, config } = await setup("/public.txt", { allowReserved: false });
    const before = await liveEntries(h);
    expect(await admits(h, "34.66.25.221")).toBe(true);
    expect(await admits(h, OUTSIDER)).toBe(false);

    const dryRun = await sync(config, "--dry-run");
    expect(dryRun.code).toBe(3);
    expect(dryRun.result.held).toMatchObject({
      guard: "maxAddresses",
      message: expect.stringContaining(
        "maxAddresses: the 56488 desired entries together admit 3701997568 IPv4 addresses, more than 65536 (guards.maxAddresses); broadest: 1.0.0.0/16 (65536)",
      ),
    });
    expect(dryRun.result.instances[0]?.status).toBe("held");

    const held = await sync(config);
    expect(held.code).toBe(3);
    expect(held.result.held?.guard).toBe("maxAddresses");
    expect(held.result.held?.trips?.map((t) => t.guard)).toEqual(["maxAddresses", "maxAdditions"]);
    expect(held.result.instances[0]?.status).toBe("held");
    expect(hook.requests.map((r) => r.json)).toEqual([expect.objectContaining({ event: "held", guard: "maxAddresses" })]);

    const forced = await sync(config, "--force");
    expect(forced.code).toBe(3);
    expect(forced.result.held?.guard).toBe("maxAddresses");
    expect(forced.result.overridden?.map((t) => t.guard)).toEqual(["maxAdditions"]);

    expect(await liveEntries(h)).toEqual(before);
    expect(await admits(h, OUTSIDER)).toBe(false);
    expect(await admits(h, "34.66.25.221")).toBe(true);
  }, 60_000);

  it("with allowReserved, all 57,088 /16s are held just the same", async () => {
    const { h, config } = await setup("/all.txt", { allowReserved: true });
    const before = await liveEntries(h);
    const held = await sync(config);
    expect(held.code).toBe(3);
    expect(held.result.held).toMatchObject({
      guard: "maxAddresses",
      message: expect.stringContaining("the 57088 desired entries together admit 3741319168 IPv4 addresses"),
    });
    expect(await liveEntries(h)).toEqual(before);
    expect(await admits(h, OUTSIDER)).toBe(false);
  }, 60_000);
});

describe("a first run into an empty map", () => {
  let dns: RunningDnsServer;
  beforeAll(async () => {
    dns = await startDnsServer({ zones: { "nat.travisci.net": { A: travisAddresses() } } });
  });
  afterAll(() => dns.stop());

  it("applies the Travis set with the default guards", async () => {
    const h = await startHaproxy({ kind: "map", entries: [] });
    running.push(h);
    const config = await writeConfig(h.dir, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, extra: { guards: { allowReserved: false } } });
    const { code, result } = await sync(config);
    expect(code).toBe(0);
    expect(result.held).toBeNull();
    expect(result.instances[0]?.status).toBe("applied");
    expect(await liveEntries(h)).toEqual(
      travisAddresses()
        .map((a) => `${a}/32 travis`)
        .sort(),
    );
  }, 30_000);
});

describe("too-broad: the live list as a whole", () => {
  it("status names the total and the broadest entries when foreign /17s together admit more than maxAddresses", async () => {
    const foreign = ["34.64.0.0/17 office", "34.65.0.0/17 office", "34.66.128.0/17 office"];
    const h = await startHaproxy({ kind: "map", entries: [...foreign, ...OWNED] });
    running.push(h);
    const config = await writeConfig(h.dir, { staticEntries: ["34.66.25.221", "35.186.1.2"], sockets: [h.unixTarget], map: h.listFile });
    const run = await runCli(["--config", config, "--output", "json", "status", "--detailed-exitcode"]);
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout) as StatusReport;
    expect(report.instances[0]?.exposures).toEqual([
      {
        address: "34.64.0.0",
        entry: "34.64.0.0/17",
        value: "office",
        owner: "foreign",
        reason: "too-broad",
        detail:
          "the 5 live entries within the prefix guards together admit 98306 IPv4 addresses, more than 65536 (guards.maxAddresses); broadest: 34.64.0.0/17 (32768), 34.65.0.0/17 (32768), 34.66.128.0/17 (32768), 34.66.25.221/32 (1), 35.186.1.2/32 (1)",
      },
    ]);
  }, 30_000);
});
