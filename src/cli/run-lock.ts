import { join } from "node:path";
import { ensurePrivateDir } from "../util/atomic.js";
import { acquireLock, type LockHolder } from "../util/lock.js";
import { stateDirOf } from "../config/paths.js";
import type { Config } from "../config/schema.js";
import { AllowlistError } from "../errors.js";
import { permissionAdvice } from "../util/permission.js";
import { message } from "../reconcile/results.js";

/** How long a sync waits for another one on this host to finish. */
export const RUN_LOCK_WAIT_MS = 120_000;

/** Takes this host's run lock, waiting up to `waitMs` for another sync; `onWait` hears at once when there is one to wait for. */
export async function acquireRunLock(config: Config, waitMs = RUN_LOCK_WAIT_MS, onWait?: (holder: LockHolder) => void): Promise<() => Promise<void>> {
  const dir = stateDirOf(config);
  const unusable = async (err: unknown) =>
    new AllowlistError("E_STATE_DIR", `state directory ${dir} cannot be used: ${(await permissionAdvice(dir, err)) ?? message(err)}`, {
      cause: err,
    });
  try {
    await ensurePrivateDir(dir);
  } catch (err) {
    throw await unusable(err);
  }
  try {
    return await acquireLock(join(dir, "sync.lock"), {
      timeoutMs: waitMs,
      staleMs: 30 * 60_000,
      busy: { code: "E_RUN_LOCK", what: "another sync (the run lock)" },
      ...(onWait ? { onWait } : {}),
    });
  } catch (err) {
    // Busy is one thing; a lock file this user cannot create is another, and says how to fix it.
    if (err instanceof AllowlistError) throw err;
    throw await unusable(err);
  }
}
