import type { Stats } from "node:fs";
import { lstat, readFile, realpath } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { AllowlistError, type ErrorCode } from "../errors.js";

/**
 * Which paths this tool trusts, in the manner of OpenSSH's StrictModes. A
 * directory is only as safe as its parent: whoever may write the parent can
 * rename it away and put one of their own in its place. So every directory from
 * the tool's own path up to `/` is checked, not only the nearest. Each must
 * belong to root or to this process's user, and no other user may write it: not
 * the world, and not a group this process is not in (a Kubernetes `fsGroup`
 * volume is group-writable by the process's own supplementary group, and stays
 * usable). A sticky directory such as `/tmp` is the one exception above the
 * tool's own paths: there only an entry's owner may rename it, and the entry
 * below it is checked to be root's or ours. The tool's own paths (its state and
 * cache directories, their files, its locks) are never reached through a
 * symlink; a link further up, as `/var/run` is, must belong to root or to us,
 * and what it points to is checked the same way.
 */
interface Trust {
  uid: number;
  groups: ReadonlySet<number>;
}

function processTrust(): Trust {
  const uid = process.geteuid?.() ?? 0;
  const groups = new Set<number>(process.getgroups?.() ?? []);
  groups.add(process.getegid?.() ?? 0);
  return { uid, groups };
}

/** Why another user could have written a path with these stats, or undefined when none could. */
function untrustedBecause(info: Stats, trust: Trust, own: boolean): { reason: string; fix: (path: string) => string } | undefined {
  if (info.uid !== 0 && info.uid !== trust.uid) return { reason: "belongs to another user", fix: (path) => `chown ${trust.uid} ${path}, or run as its owner` };
  // A link's own mode is always 0777 and means nothing: only who made it does.
  if (info.isSymbolicLink()) return undefined;
  if (!own && info.isDirectory() && (info.mode & 0o1000) !== 0) return undefined;
  if ((info.mode & 0o002) !== 0) return { reason: "is writable by other users", fix: (path) => `chmod o-w ${path}` };
  if ((info.mode & 0o020) !== 0 && !trust.groups.has(info.gid))
    return { reason: `is writable by group ${info.gid}, which this process is not in`, fix: (path) => `chmod g-w ${path}` };
  return undefined;
}

/** The user's name from /etc/passwd, when it is there: read only to word an error. */
async function userName(uid: number): Promise<string | undefined> {
  const passwd = await readFile("/etc/passwd", "utf8").catch(() => "");
  return passwd
    .split("\n")
    .map((line) => line.split(":"))
    .find((fields) => fields[2] === String(uid))?.[0];
}

async function ownerAndMode(info: Stats): Promise<string> {
  const name = await userName(info.uid);
  return `owner uid ${info.uid}${name ? ` (${name})` : ""}, gid ${info.gid}, mode ${(info.mode & 0o7777).toString(8).padStart(4, "0")}`;
}

interface Refusal {
  code: ErrorCode;
  /** What the checked path is, in a few words: "the state directory". */
  what: string;
  /** The advice that ends every refusal. */
  otherwise: string;
}

async function refuse(refusal: Refusal, path: string, checked: string, info: Stats, why: { reason: string; fix: string }): Promise<never> {
  const where = checked === path ? `${refusal.what} ${path}` : `${checked}, on the way to ${refusal.what} ${path},`;
  throw new AllowlistError(refusal.code, `${where} ${why.reason} (${await ownerAndMode(info)}): refusing to trust it; run ${why.fix}, or ${refusal.otherwise}`);
}

const lstatOrNothing = (path: string) =>
  lstat(path).catch((err: NodeJS.ErrnoException) => (err.code === "ENOENT" || err.code === "ENOTDIR" ? undefined : Promise.reject(err)));

/** Every directory above `from` up to `/`, and what any link among them points to; `path` is the tool's path they lead to. */
async function checkAncestors(from: string, path: string, refusal: Refusal, trust: Trust): Promise<void> {
  for (let at = resolve(from); ; at = dirname(at)) {
    const info = await lstatOrNothing(at);
    if (info) {
      const why = untrustedBecause(info, trust, false);
      if (why) await refuse(refusal, path, at, info, { reason: why.reason, fix: why.fix(at) });
      // realpath has no links left in it, so this goes one level deep.
      if (info.isSymbolicLink()) await checkAncestors(await realpath(at), path, refusal, trust);
    }
    if (dirname(at) === at) return;
  }
}

/** One of the tool's own paths (a directory or a file, if it exists) and everything above it. */
async function checkOwn(path: string, refusal: Refusal): Promise<void> {
  const trust = processTrust();
  const info = await lstatOrNothing(path);
  if (info?.isSymbolicLink()) {
    await refuse(refusal, path, path, info, {
      reason: "is a symlink, and the tool's own paths are never reached through one",
      fix: `rm ${path} and put the real directory or file there`,
    });
  }
  const why = info && untrustedBecause(info, trust, true);
  if (info && why) await refuse(refusal, path, path, info, { reason: why.reason, fix: why.fix(path) });
  await checkAncestors(dirname(resolve(path)), path, refusal, trust);
}

const STATE: Omit<Refusal, "what"> = {
  code: "E_STATE_DIR",
  otherwise: "point stateDir (or audit.path) at a directory only this user can write",
};

/**
 * Refuses a state, cache, audit or lock path that another user could have
 * written (E_STATE_DIR): a planted cache body, removal state or lock would be
 * trusted as this tool's own. A path not made yet passes when its parents do.
 */
export function assertTrustedPath(path: string, what: string): Promise<void> {
  return checkOwn(path, { ...STATE, what });
}

/**
 * `persist` writes through a symlink at the map path only when the link and
 * what it points to belong to root or to this user, with no directory on the
 * way writable by others (E_PERSIST_UNSAFE): a link anyone else could have
 * made or changed would aim the rewrite at a file of their choosing.
 */
export async function assertSafeSymlink(path: string): Promise<void> {
  const trust = processTrust();
  const refusal: Refusal = {
    code: "E_PERSIST_UNSAFE",
    what: "the map file",
    otherwise: "replace the link with the map file itself (nothing was written)",
  };
  const link = await lstat(path);
  const linkWhy = untrustedBecause(link, trust, true);
  if (linkWhy) await refuse(refusal, path, path, link, { reason: `is a symlink that ${linkWhy.reason}`, fix: linkWhy.fix(path) });
  await checkAncestors(dirname(resolve(path)), path, refusal, trust);
  const target = await realpath(path);
  const info = await lstat(target);
  const why = untrustedBecause(info, trust, true);
  if (why) await refuse(refusal, path, target, info, { reason: why.reason, fix: why.fix(target) });
  await checkAncestors(dirname(target), path, refusal, trust);
}
