import { type ExecFileException, execFile } from "node:child_process";
import { chmod, cp, lstat, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "./tmp.js";

export const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The longest one CLI run in a test may take: a sync against loopback servers takes well under a second. */
export const CLI_TIMEOUT_MS = 20_000;

/** The exit code, or -1 for a run killed (by the timeout) or never started. */
function exitCode(error: ExecFileException | null): number {
  return error ? (typeof error.code === "number" ? error.code : -1) : 0;
}

/** Runs the built CLI (npm test builds it first) without blocking the test's own servers. */
/** Passed to a child so that it reads the test's clock and timezone: TZ, and faketime's variables when a run uses it. */
const CLOCK_VARIABLES = /^(TZ|LD_PRELOAD|FAKETIME.*|DONT_FAKE_MONOTONIC)$/;

/** The environment a spawned CLI or helper gets: PATH, the test's clock and timezone, and `extra`. Nothing else of the test's environment reaches it. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const clock = Object.entries(process.env).filter((e): e is [string, string] => CLOCK_VARIABLES.test(e[0]) && e[1] !== undefined);
  return { PATH: process.env.PATH ?? "", ...Object.fromEntries(clock), ...extra };
}

export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; maxBuffer?: number } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: options.cwd, env: childEnv(options.env), timeout: CLI_TIMEOUT_MS, maxBuffer: options.maxBuffer ?? 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: exitCode(error), stdout, stderr }),
    );
  });
}

/** stderr must be JSON lines only (logs); returns them parsed. */
export function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * The built CLI and its production dependencies copied to a world-readable
 * place, for tests that run it as another user: the checkout itself may sit
 * in a directory only its owner can enter (a 0700 home or temp directory).
 */
export async function cliReadableByAll(): Promise<{ cli: string; remove: () => Promise<void> }> {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const { path, remove } = await tempDir("ta-cli-");
  const listed = await new Promise<string>((resolve, reject) =>
    execFile("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: root }, (err, stdout) =>
      err && !stdout ? reject(new Error(`npm ls failed: ${err.message}`, { cause: err })) : resolve(stdout),
    ),
  );
  const packages = listed.split("\n").filter((p) => p.startsWith(join(root, "node_modules")));
  await cp(join(root, "dist"), join(path, "dist"), { recursive: true });
  await cp(join(root, "package.json"), join(path, "package.json"));
  for (const dir of packages) await cp(dir, join(path, relative(root, dir)), { recursive: true });
  // cp keeps modes: a checkout made under umask 077 has 0600 files and 0700 directories, and so has the copy.
  await readableByAll(path);
  return { cli: join(path, "dist", "cli", "main.js"), remove };
}

/** Directories 0755, files 0644 (0755 if their owner may execute them), throughout the tree; links are left alone. */
async function readableByAll(path: string): Promise<void> {
  const stats = await lstat(path);
  if (stats.isSymbolicLink()) return;
  if (stats.isDirectory()) {
    await chmod(path, 0o755);
    for (const entry of await readdir(path)) await readableByAll(join(path, entry));
  } else {
    await chmod(path, stats.mode & 0o100 ? 0o755 : 0o644);
  }
}

/** The unprivileged user tests run the CLI as (`nobody`). */
export const NOBODY = 65534;

/** Runs a world-readable copy of the CLI (`cliReadableByAll`) as `nobody`, with `runCli`'s timeout. */
export function runCliAsNobody(cli: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve) =>
    execFile(process.execPath, [cli, ...args], { uid: NOBODY, gid: NOBODY, env: childEnv(), timeout: CLI_TIMEOUT_MS }, (error, stdout, stderr) =>
      resolve({ code: exitCode(error), stdout, stderr }),
    ),
  );
}
