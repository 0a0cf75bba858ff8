import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { acquireLock } from "../audit/lock.js";
import { stateDirOf } from "../config/paths.js";
import type { Config } from "../config/schema.js";

/** How long a sync waits for another one on this host to finish. */
export const RUN_LOCK_WAIT_MS = 120_000;

export async function acquireRunLock(config: Config, waitMs = RUN_LOCK_WAIT_MS): Promise<() => Promise<void>> {
  const dir = stateDirOf(config);
  await mkdir(dir, { recursive: true, mode: 0o750 });
  return acquireLock(join(dir, "sync.lock"), { timeoutMs: waitMs, staleMs: 30 * 60_000 });
}
