import { type Stats, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { userInfo } from "node:os";

/**
 * What a person needs to fix a permission error: the path, who this process
 * runs as, who owns the place, and a command that would fix it.
 */
export async function permissionAdvice(path: string, err: unknown): Promise<string | undefined> {
  const where = await stat(path).catch(() => stat(dirname(path)).catch(() => undefined));
  return advice(path, err, where);
}

/** The same, for the few places that report synchronously. */
export function permissionAdviceSync(path: string, err: unknown): string | undefined {
  const at = (p: string) => {
    try {
      return statSync(p);
    } catch {
      return undefined;
    }
  };
  return advice(path, err, at(path) ?? at(dirname(path)));
}

function advice(path: string, err: unknown, where: Stats | undefined): string | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== "EACCES" && code !== "EPERM" && code !== "EROFS") return undefined;
  const me = userInfo();
  const place = where ? `owned by uid ${where.uid} (gid ${where.gid}), mode ${(where.mode & 0o777).toString(8)}` : "whose owner cannot be read";
  if (code === "EROFS")
    return `${path}: the file system is read-only (EROFS; user ${me.username}, uid ${me.uid}): no owner or mode can make it writable; mount it read-write, or point the setting at a writable place, or use --dry-run`;
  // EPERM where EACCES would mean "not yours": an attribute or a policy refuses, whoever the owner is.
  if (code === "EPERM") return `${path}: operation not permitted (EPERM; user ${me.username}, uid ${me.uid}); ${notPermittedBecause(path, me.uid)}`;
  const fix = where?.isDirectory() === false ? `chown ${me.uid} ${path}` : `chown -R ${me.uid} ${where ? path : dirname(path)}`;
  return `${path}: permission denied for user ${me.username} (uid ${me.uid}); it is ${place}: run as that owner, or ${fix} (${code})`;
}

function notPermittedBecause(path: string, uid: number): string {
  const attribute = `it or a file in it is immutable or append-only (chattr +i or +a; lsattr -d ${path} shows it)`;
  if (uid === 0)
    return `even root may not change it, so ${attribute}, or a security policy (SELinux, AppArmor) refuses it; a chown cannot help: remove the attribute (chattr -i) if it was not set on purpose, or point the setting at another place`;
  return `${attribute}, or it sits in a sticky directory (such as /tmp) and belongs to another user; remove the attribute (chattr -i, as root) or point the setting at a directory of this user's own`;
}
