import { open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { AllowlistError, type ErrorCode } from "../errors.js";

export interface LockOptions {
  timeoutMs: number;
  /** A lock older than this, or held by a process that is gone, is taken over. */
  staleMs: number;
  /** What the lock guards and the code to report when it stays busy. */
  busy: { code: ErrorCode; what: string };
}

/** Who holds a lock, from its file: `pid 123 on host, for 4 s`. */
async function holder(path: string): Promise<string> {
  const text = await readFile(path, "utf8").catch(() => "");
  const [pid, host, time] = text.split(" ");
  const age = Number(time);
  return pid && host && Number.isFinite(age)
    ? `pid ${pid} on ${host}, for ${Math.round((Date.now() - age) / 1000)} s`
    : "a process that has not written its name yet";
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A holder killed between creating the file and writing it leaves it empty: give it this long. */
const UNWRITTEN_GRACE_MS = 2000;

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    const [owner, host, time] = text.split(" ");
    const pid = Number(owner);
    if (!Number.isInteger(pid) || pid <= 0 || !host || !Number.isFinite(Number(time))) return Date.now() - info.mtimeMs > UNWRITTEN_GRACE_MS;
    if (Date.now() - Number(time) > staleMs) return true;
    return host === hostname() && !alive(pid);
  } catch {
    return false;
  }
}

/** An exclusive lock file (O_EXCL); resolves with its release function. */
export async function acquireLock(path: string, options: LockOptions): Promise<() => Promise<void>> {
  const deadline = Date.now() + options.timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    try {
      const handle = await open(path, "wx", 0o600);
      try {
        await handle.writeFile(`${process.pid} ${hostname()} ${Date.now()}`);
      } catch (err) {
        // A lock that cannot be written (a full disk) is given back at once, its descriptor included.
        await handle.close();
        await unlink(path).catch(() => undefined);
        throw err;
      }
      await handle.close();
      return () => unlink(path).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    if (await isStale(path, options.staleMs)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new AllowlistError(options.busy.code, `${options.busy.what} is locked by ${await holder(path)} (${path}); waited ${options.timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
