import { execFile } from "node:child_process";
import { chmod, cp } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "./tmp.js";

export const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (npm test builds it first) without blocking the test's own servers. */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: options.cwd, env: { PATH: process.env.PATH ?? "", ...options.env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
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
  // mkdtemp makes the directory 0700; everything below it is readable already.
  await chmod(path, 0o755);
  return { cli: join(path, "dist", "cli", "main.js"), remove };
}

/** The unprivileged user tests run the CLI as (`nobody`). */
export const NOBODY = 65534;

/** Runs a world-readable copy of the CLI (`cliReadableByAll`) as `nobody`. */
export function runCliAsNobody(cli: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve) =>
    execFile(process.execPath, [cli, ...args], { uid: NOBODY, gid: NOBODY, env: { PATH: process.env.PATH ?? "" } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    ),
  );
}
