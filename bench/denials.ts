/**
 * The figures of "Who was turned away": `denials` over a full stick table,
 * and how long a runner Travis just published waits in daemon mode between
 * its first denial and its admission.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { CLI } from "../test/support/cli.js";
import { configDocument } from "../test/support/config.js";
import type { RunningDnsServer } from "../test/support/dns-server.js";
import { deniedClientsRecipe, liveEntries, type RunningHaproxy, startHaproxy } from "../test/support/haproxy.js";
import { until } from "../test/support/wait.js";

export const DENIED_TABLE = "st_denied";
const NAME = "nat.travisci.net";

/** A HAProxy with the denied clients' recipe, in its own directory. */
export async function haproxyWithDeniedTable(dir: string): Promise<RunningHaproxy> {
  await mkdir(dir, { recursive: true });
  return startHaproxy({ kind: "map", dir, ...deniedClientsRecipe(DENIED_TABLE) });
}

/** `::ffff:10.a.b.c`: the key HAProxy's `type ipv6` table gives an IPv4 client. */
function deniedKey(n: number): string {
  return `::ffff:10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/**
 * Fills the table with `count` denied clients over one runtime connection, pipelined in
 * prompt mode (`set table … data.http_req_cnt`), as many clients' requests would have.
 */
export async function fillDeniedTable(h: RunningHaproxy, count: number): Promise<void> {
  const socket = h.unixTarget.slice("unix://".length);
  const lines = Array.from({ length: count }, (_, i) => `set table ${DENIED_TABLE} key ${deniedKey(i)} data.http_req_cnt ${1 + (i % 50)}\n`);
  const reply = await new Promise<string>((resolve, reject) => {
    const s = connect({ path: socket });
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => (out += d));
    s.on("end", () => resolve(out));
    s.on("error", reject);
    s.end(`prompt\n${lines.join("")}quit\n`);
  });
  // Each accepted command answers with an empty line and the prompt; anything else is HAProxy refusing one.
  const refused = reply.replace(/^> ?/gm, "").trim();
  if (refused !== "") throw new Error(`HAProxy refused to fill ${DENIED_TABLE}: ${refused.slice(0, 300)}`);
  const used = /used:(\d+)/.exec(await h.command(`show table`))?.[1];
  if (Number(used) !== count) throw new Error(`${DENIED_TABLE} holds ${used ?? "no"} entries, not ${count}`);
}

/** The config the denial figures run with: the recorded Travis set by DNS, the table named, no guard in the way. */
export async function denialsConfig(dir: string, h: RunningHaproxy, dns: RunningDnsServer, extra: Record<string, unknown> = {}): Promise<string> {
  const document = configDocument({
    resolver: dns.resolver,
    sockets: [h.unixTarget],
    map: h.listFile,
    auditPath: join(dir, "audit.jsonl"),
    denials: { table: DENIED_TABLE },
    extra: { guards: { maxAdditions: 1_000_000 }, stateDir: join(dir, "state"), ...extra },
  });
  const file = join(dir, "travis-allowlist.yaml");
  await writeFile(file, stringify(document));
  return file;
}

export interface DenialsSample {
  seconds: number;
  peakRssMib: number;
  entries: number;
  denials: number;
  truncated: boolean;
}

/** The NODE_OPTIONS the container image runs the tool with (its heap sized for its memory limit), if it sets any. */
export async function imageNodeOptions(root: string): Promise<string | undefined> {
  return /^ENV NODE_OPTIONS="([^"]+)"/m.exec(await readFile(join(root, "Dockerfile"), "utf8"))?.[1];
}

/**
 * One `denials --output json` under GNU time, for its wall time and peak RSS, with Node's
 * defaults or the given NODE_OPTIONS. Its report of 100,000 clients is about 50 MB, past
 * what the tests' measured runner buffers.
 */
export function measuredDenials(config: string, nodeOptions?: string): Promise<DenialsSample> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      "/usr/bin/time",
      ["-v", process.execPath, CLI, "--config", config, "--log-level", "warn", "--output", "json", "denials"],
      { env: { PATH: process.env.PATH ?? "", ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) }, maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        const seconds = (performance.now() - started) / 1000;
        const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
        if (error || kb === undefined) return reject(new Error(`denials failed (${error?.message ?? "no peak RSS"}): ${stderr.slice(-800)}`));
        const report = JSON.parse(stdout) as { denials: unknown[]; tables: Array<{ entries: number; truncated: boolean }> };
        const table = report.tables[0];
        if (!table) return reject(new Error(`denials read no table: ${stdout.slice(0, 300)}`));
        resolve({ seconds, peakRssMib: Number(kb) / 1024, entries: table.entries, denials: report.denials.length, truncated: table.truncated });
      },
    );
  });
}

function daemon(config: string): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(process.execPath, [CLI, "--config", config, "--log-level", "warn", "daemon"], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { PATH: process.env.PATH ?? "" },
  });
  return { child, exited: new Promise((resolve) => child.once("exit", resolve)) };
}

const POLL_MS = 50;

/**
 * Daemon mode with `watchInterval` 1s and a schedule months away: once its first sync has
 * loaded the Travis set, `runner` is published, and a client at that address asks every
 * 50 ms. Seconds from its first 403 to its first 200, or null when it was not admitted
 * within `deadlineMs`.
 */
export async function firstDenialToAdmission(dir: string, dns: RunningDnsServer, runner: string, deadlineMs: number): Promise<number | null> {
  const h = await haproxyWithDeniedTable(dir);
  const zone = dns.zones[NAME] as { A: string[] };
  const published = [...zone.A];
  const config = await denialsConfig(dir, h, dns, { watchInterval: "1s", schedule: "0 0 1 1 *" });
  const d = daemon(config);
  try {
    // The first sync is awaited on the live map, not by requests: a denied request would be a denial of its own.
    await until(async () => (await liveEntries(h)).length === published.length, "the daemon's first sync", 60_000);
    zone.A = [...published, runner];
    let firstDenied: number | undefined;
    const deadline = performance.now() + deadlineMs;
    while (performance.now() < deadline) {
      const status = await h.statusFrom(runner);
      if (status === 200) {
        if (firstDenied === undefined) throw new Error(`${runner} was admitted before any request of it was denied`);
        return (performance.now() - firstDenied) / 1000;
      }
      firstDenied ??= performance.now();
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    return null;
  } finally {
    zone.A = published;
    d.child.kill("SIGTERM");
    await d.exited;
    await h.stop();
  }
}
