import { isIP } from "node:net";
import { type ErrorCode, HaproxyError } from "../errors.js";
import { parseTarget } from "../model/target.js";
import { Scrubber } from "../util/secrets.js";
import type { Response } from "./protocol.js";

/** What HAProxy answers, on 2.x and 3.x alike, when the stats socket's level is below what a command needs. */
const PERMISSION_DENIED = /^Permission denied/i;

/** The `stats socket` line that gives this target the level map and ACL commands need. */
export function adminSocketLine(target: string): string {
  const address = parseTarget(target);
  if (address?.kind === "unix") return `stats socket ${address.path} mode 660 level admin`;
  if (address?.kind === "tcp") {
    const family = isIP(address.host);
    return `stats socket ${family === 0 ? "" : `ipv${family}@`}${address.host}:${address.port} level admin`;
  }
  // A tls:// target is a TLS listener in front of a unix stats socket: the level belongs to that socket.
  return "stats socket <the path its TLS listener forwards to> mode 660 level admin";
}

/**
 * The error for a command HAProxy refused. A refusal for want of access level
 * gets its own code and the config line that fixes it; any other keeps `code`.
 * `consequence` says what the refusal left behind ("; not committed"). The
 * reply is a peer's text: it is quoted scrubbed and cut, as parse errors quote it.
 */
export function refusal(
  target: string,
  version: string,
  what: string,
  response: Response,
  code: ErrorCode,
  consequence = "",
  scrubber = new Scrubber(),
): HaproxyError {
  const reply = scrubber.start(response.text, 200);
  if (PERMISSION_DENIED.test(reply)) {
    return new HaproxyError(
      "E_HAPROXY_PERMISSION",
      target,
      `${what} was refused: ${reply}${consequence}. HAProxy ${version} allows map and ACL commands only on a stats socket with ` +
        `"level admin" (3.x refuses even show and get at "level operator"): in haproxy.cfg write "${adminSocketLine(target)}" and reload HAProxy`,
    );
  }
  return new HaproxyError(code, target, `${what} failed: ${reply}${consequence}`);
}
