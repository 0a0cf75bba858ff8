import { join } from "node:path";
import { assertNotWorldWritable, ensurePrivateDir } from "../util/atomic.js";
import { acquireLock } from "../util/lock.js";
import { stateDirOf } from "../config/paths.js";
import type { Config } from "../config/schema.js";
import { AllowlistError } from "../errors.js";

/** How long a sync waits for another one on this host to finish. */
export const RUN_LOCK_WAIT_MS = 120_000;

export async function acquireRunLock(config: Config, waitMs = RUN_LOCK_WAIT_MS): Promise<() => Promise<void>> {
  const dir = stateDirOf(config);
  try {
    await ensurePrivateDir(dir);
  } catch (err) {
    throw new AllowlistError("E_STATE_DIR", `state directory ${dir} cannot be used: ${(err as Error).message}`, { cause: err });
  }
  await assertNotWorldWritable(dir, "the state directory");
  return acquireLock(join(dir, "sync.lock"), { timeoutMs: waitMs, staleMs: 30 * 60_000, busy: { code: "E_RUN_LOCK", what: "another sync (the run lock)" } });
}
