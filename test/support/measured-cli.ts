import { execFile } from "node:child_process";
import { CLI, type CliRun } from "./cli.js";

export interface MeasuredRun extends CliRun {
  /** The CLI process's peak resident memory, as GNU time reports it. */
  peakRssMib: number;
  seconds: number;
}

/**
 * Runs the built CLI as runCli does, under GNU time (`/usr/bin/time -v`), for
 * its peak resident memory: what a container's memory limit is held against.
 */
export function runCliMeasured(args: string[], options: { timeoutMs: number; nodeOptions?: string[] }): Promise<MeasuredRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      "/usr/bin/time",
      ["-v", process.execPath, ...(options.nodeOptions ?? []), CLI, ...args],
      { env: { PATH: process.env.PATH ?? "" }, timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
        if (kb === undefined) return reject(new Error(`no peak memory in /usr/bin/time's report (${error?.message ?? "no error"}): ${stderr.slice(-500)}`));
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr, peakRssMib: Number(kb) / 1024, seconds: (performance.now() - started) / 1000 });
      },
    );
  });
}
