/**
 * The figures of "Who was turned away": `denials` over a full stick table,
 * and how long a runner Travis just published waits in daemon mode between
 * its first denial and its admission.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CLI } from "../test/support/cli.js";
import { denialsConfig, haproxyWithDeniedTable } from "../test/support/denied-table.js";
import type { RunningDnsServer } from "../test/support/dns-server.js";
import { liveEntries } from "../test/support/haproxy.js";
import { until } from "../test/support/wait.js";

export { DENIED_TABLE, denialsConfig, fillDeniedTable, haproxyWithDeniedTable } from "../test/support/denied-table.js";

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
  const zone = dns.zones["nat.travisci.net"] as { A: string[] };
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
