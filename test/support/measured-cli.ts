import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { childEnv, CLI, type CliRun } from "./cli.js";

/** The NODE_OPTIONS the image runs the CLI with: the Dockerfile's one `ENV NODE_OPTIONS="…"`. */
export function imageNodeOptions(): string {
  const dockerfile = readFileSync(fileURLToPath(new URL("../../Dockerfile", import.meta.url)), "utf8");
  const found = [...dockerfile.matchAll(/^ENV NODE_OPTIONS="([^"]*)"$/gm)].map((m) => m[1] as string);
  if (found.length !== 1) throw new Error(`the Dockerfile sets NODE_OPTIONS ${found.length} times, not once`);
  return found[0] as string;
}

export interface MeasuredRun extends CliRun {
  /** The CLI process's peak resident memory, as GNU time reports it. */
  peakRssMib: number;
  seconds: number;
}

/**
 * Runs the built CLI as runCli does, under GNU time (`/usr/bin/time -v`), for
 * its peak resident memory: what a container's memory limit is held against.
 * `nodeOptions` is passed as NODE_OPTIONS, the way the image sets it.
 */
export function runCliMeasured(args: string[], options: { timeoutMs: number; nodeOptions?: string; stdoutFile?: string }): Promise<MeasuredRun> {
  const started = performance.now();
  // A result larger than the buffer goes to `stdoutFile`; the shell execs the CLI, so the peak measured is still the CLI's own.
  const command =
    options.stdoutFile === undefined
      ? [process.execPath, CLI]
      : ["sh", "-c", 'out=$1; shift; exec "$@" > "$out"', "sh", options.stdoutFile, process.execPath, CLI];
  return new Promise((resolve, reject) => {
    execFile(
      "/usr/bin/time",
      ["-v", ...command, ...args],
      {
        env: childEnv(options.nodeOptions ? { NODE_OPTIONS: options.nodeOptions } : {}),
        timeout: options.timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
        if (kb === undefined) return reject(new Error(`no peak memory in /usr/bin/time's report (${error?.message ?? "no error"}): ${stderr.slice(-500)}`));
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr, peakRssMib: Number(kb) / 1024, seconds: (performance.now() - started) / 1000 });
      },
    );
  });
}
