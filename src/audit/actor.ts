import { hostname, userInfo } from "node:os";
import type { AuditActor } from "./record.js";

function osUser(env: Record<string, string | undefined>): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? String(process.getuid?.() ?? "unknown");
  }
}

/**
 * Who runs this: the OS user and host, the Kubernetes pod and namespace from
 * the downward API, and whether a schedule or a person started it.
 */
export function currentActor(env: Record<string, string | undefined>, scheduled: boolean): AuditActor {
  const trigger = scheduled || env.TRAVIS_ALLOWLIST_TRIGGER === "scheduled" ? "scheduled" : "manual";
  return {
    user: osUser(env),
    host: hostname(),
    ...(env.POD_NAME ? { pod: env.POD_NAME } : {}),
    ...(env.POD_NAMESPACE ? { namespace: env.POD_NAMESPACE } : {}),
    trigger,
  };
}
