import { stat } from "node:fs/promises";
import { userInfo } from "node:os";

/**
 * Why this user may not open a unix stats socket, and the fix that lasts:
 * HAProxy creates its socket anew at every start and reload, with the
 * owner, group and mode of its `stats socket` line, so the line is what to
 * change, never the socket file.
 */
export async function socketAccessAdvice(path: string, code: string): Promise<string> {
  const me = userInfo();
  const who = `user ${me.username} (uid ${me.uid}, gid ${me.gid})`;
  const socket = await stat(path).catch((err: unknown) => err as NodeJS.ErrnoException);
  if (socket instanceof Error) {
    return `permission denied (${code}) for ${who} on a directory above ${path}: this user may not reach the stats socket; make its directory searchable by a group this user is in (HAProxy's own socket directory is usually group haproxy, mode 2775)`;
  }
  const owner = `the socket is owned by uid ${socket.uid} (gid ${socket.gid}), mode ${(socket.mode & 0o777).toString(8)}`;
  return (
    `permission denied (${code}) for ${who}; ${owner}. Let HAProxy make it group-accessible: in haproxy.cfg "stats socket ${path} mode 660 level admin group <group>", ` +
    `and add user ${me.username} to <group>; or run this tool as the socket's owner (uid ${socket.uid}). Do not chown the socket: HAProxy creates it anew at every start and reload`
  );
}
