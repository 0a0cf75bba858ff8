import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, lstat, mkdir, open, realpath, rename, stat, unlink } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { assertSafeSymlink } from "./trusted-path.js";

export interface AtomicWriteOptions {
  /** The file's mode, exactly, whatever the umask (default 0600). */
  mode?: number;
  /** Keep the owner and mode of the file being replaced, when it exists. */
  preserveOwnership?: boolean;
  /**
   * Write to the file a symlink at `path` points to, and keep the link (a map
   * file HAProxy loads through a link), when no other user could have made or
   * changed that link (E_PERSIST_UNSAFE otherwise, nothing written). Without
   * it a link at `path` is replaced by the file, never followed.
   */
  throughSymlink?: boolean;
  /**
   * The mode, exactly, of directories created for the file (default 0700).
   * 0755 for a file another user must read (the node_exporter textfile).
   */
  dirMode?: number;
}

/** O_EXCL and O_NOFOLLOW: a name planted in advance, file or link, makes the write fail instead of going astray. */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Directories this tool creates: only its own user may enter them (a umask
 * can only take bits away from 0700). Created one level at a time from the
 * nearest existing parent: Node's recursive mkdir never returns on some
 * pseudo file systems (a path under /proc), this fails at once.
 */
export async function ensurePrivateDir(path: string): Promise<void> {
  await ensureDir(path, 0o700);
}

/** The same with another mode, set exactly on each directory created (never on one that exists). */
export async function ensureDir(path: string, mode: number): Promise<void> {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    const info = await stat(at).catch((err: NodeJS.ErrnoException) => (err.code === "ENOENT" ? undefined : Promise.reject(err)));
    if (info) {
      if (!info.isDirectory()) throw Object.assign(new Error(`${at} is not a directory`), { code: "ENOTDIR" });
      break;
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const dir of missing.reverse()) {
    const created = await mkdir(dir, { mode }).then(
      () => true,
      (err: NodeJS.ErrnoException) => (err.code === "EEXIST" ? false : Promise.reject(err)),
    );
    // A umask only takes bits away from 0700; a wider mode is set as asked.
    if (created && mode !== 0o700) await chmod(dir, mode);
  }
}

/** Reads a file that must be a regular file of its own: a symlink in its place is an error, not followed. */
export async function readFileNoFollow(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

/**
 * Replaces a file so that readers see the old or the new content, never a
 * mix: write a temporary file with an unpredictable name in the same
 * directory, fsync, rename, fsync the directory.
 */
export async function writeFileAtomic(path: string, content: string, options: AtomicWriteOptions = {}): Promise<void> {
  const isLink = options.throughSymlink
    ? await lstat(path).then(
        (s) => s.isSymbolicLink(),
        () => false,
      )
    : false;
  if (isLink) await assertSafeSymlink(path);
  const target = isLink ? await realpath(path) : path;
  await ensureDir(dirname(target), options.dirMode ?? 0o700);
  const previous = options.preserveOwnership ? await stat(target).catch(() => undefined) : undefined;
  const temp = `${target}.${randomBytes(8).toString("hex")}.tmp`;
  const handle = await open(temp, CREATE_NEW, 0o600);
  try {
    await handle.writeFile(content);
    await handle.chmod(previous ? previous.mode & 0o7777 : (options.mode ?? 0o600));
    if (previous) await handle.chown(previous.uid, previous.gid).catch(() => undefined);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await rename(temp, target);
  const dir = await open(dirname(target), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
