import { lstat, open, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { AllowlistError, type ErrorCode } from "../errors.js";
import { readFileNoFollow } from "./atomic.js";
import { assertTrustedPath } from "./trusted-path.js";

export interface LockOptions {
  timeoutMs: number;
  /** A lock older than this, or held by a process that is gone, is taken over. */
  staleMs: number;
  /** What the lock guards and the code to report when it stays busy. */
  busy: { code: ErrorCode; what: string };
  /** Told once, as soon as the lock is found held by a live process, before any waiting. */
  onWait?: (holder: LockHolder) => void;
}

/** Who holds a lock, as its file says; `pid` is null while the holder has not written its name yet. */
export interface LockHolder {
  pid: number | null;
  host: string | null;
  /** When the holder took the lock (its clock, epoch ms). */
  since: number | null;
}

async function readHolder(path: string): Promise<LockHolder> {
  const text = await readFileNoFollow(path).catch(() => "");
  const [pid, host, time] = text.split(" ");
  const since = Number(time);
  return pid && host && Number.isFinite(since) && /^\d+$/.test(pid) ? { pid: Number(pid), host, since } : { pid: null, host: null, since: null };
}

/** Who holds a lock, in words: `pid 123 on host, for 4 s`. */
export function holderText(holder: LockHolder, now = Date.now()): string {
  return holder.pid !== null && holder.since !== null
    ? `pid ${holder.pid} on ${holder.host}, for ${Math.round((now - holder.since) / 1000)} s`
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
/**
 * And this long seen unwritten by this process's own clock: the file's mtime
 * comes from the file system's clock (another host's, on NFS), which may be
 * far behind ours, and a holder that is alive writes within microseconds.
 */
const UNWRITTEN_SEEN_MS = 500;

/** When this process first saw each unwritten lock file (by inode and mtime), by its own clock. */
type UnwrittenSightings = Map<string, number>;

async function isStale(path: string, staleMs: number, unwritten: UnwrittenSightings): Promise<boolean> {
  try {
    const [holder, info] = await Promise.all([readHolder(path), lstat(path)]);
    if (holder.pid === null || holder.pid <= 0 || holder.since === null) {
      const file = `${info.ino}:${info.mtimeMs}`;
      const firstSeen = unwritten.get(file) ?? Date.now();
      unwritten.set(file, firstSeen);
      return Date.now() - info.mtimeMs > UNWRITTEN_GRACE_MS && Date.now() - firstSeen >= UNWRITTEN_SEEN_MS;
    }
    if (Date.now() - holder.since > staleMs) return true;
    return holder.host === hostname() && !alive(holder.pid);
  } catch {
    return false;
  }
}

/**
 * An exclusive lock file (O_EXCL); resolves with its release function. A lock
 * in a directory another user could write (E_STATE_DIR) is refused: a lock
 * planted there would keep every run waiting, or be taken over on its word.
 */
export async function acquireLock(path: string, options: LockOptions): Promise<() => Promise<void>> {
  await assertTrustedPath(dirname(path), "the lock's directory");
  await assertTrustedPath(path, "the lock file");
  const deadline = Date.now() + options.timeoutMs;
  const unwritten: UnwrittenSightings = new Map();
  let told = false;
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
    if (await isStale(path, options.staleMs, unwritten)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new AllowlistError(
        options.busy.code,
        `${options.busy.what} is locked by ${holderText(await readHolder(path))} (${path}); waited ${options.timeoutMs} ms`,
      );
    }
    if (!told && options.onWait && options.timeoutMs > 0) {
      told = true;
      options.onWait(await readHolder(path));
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
