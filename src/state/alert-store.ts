import { join } from "node:path";
import { z } from "zod";
import { ALERT_EVENTS, ALERT_PHASES, type AlertState, SEVERITIES, emptyAlertState } from "../model/alerts.js";
import { GUARD_NAMES } from "../model/guards.js";
import { readFileNoFollow, writeFileAtomic } from "../util/atomic.js";
import { assertTrustedPath } from "../util/trusted-path.js";
import { restoredAlertState, storedAlertState } from "./stored-alerts.js";
import type { StoredNames } from "./stored-names.js";

const firingAlert = z.object({
  event: z.enum(ALERT_EVENTS),
  target: z.string(),
  guard: z.enum(GUARD_NAMES).nullable(),
  severity: z.enum(SEVERITIES),
  summary: z.string(),
  since: z.string(),
  lastSent: z.string(),
  about: z.array(z.string()).optional(),
  ended: z.string().optional(),
  unsent: z.object({ phase: z.enum(ALERT_PHASES), sinks: z.array(z.string()) }).optional(),
});
const alertStateSchema = z.object({ version: z.literal(1), firing: z.record(z.string(), firingAlert) }) satisfies z.ZodType<AlertState>;

export interface AlertStore {
  /** What was firing after the last run; empty when the file is missing or unreadable (every condition then starts again). */
  load(): Promise<AlertState>;
  save(state: AlertState): Promise<void>;
}

export function alertStatePath(stateDir: string): string {
  return join(stateDir, "alert-state.json");
}

/**
 * The alert lifecycle's memory, one small file in `stateDir`, so that a
 * CronJob's runs share it. Names and summaries carrying a secret are stored
 * scrubbed (`StoredNames`). A state path
 * another user could have written is not read (every condition starts again,
 * and the run's own failure is still alerted) and not written (E_STATE_DIR).
 */
export function alertStore(stateDir: string, names: StoredNames): AlertStore {
  const path = alertStatePath(stateDir);
  const assertTrusted = async () => {
    await assertTrustedPath(stateDir, "the state directory");
    await assertTrustedPath(path, "the alert state file");
  };
  return {
    async load() {
      const text = await assertTrusted()
        .then(() => readFileNoFollow(path))
        .catch(() => undefined);
      if (text === undefined) return emptyAlertState();
      try {
        const parsed = alertStateSchema.safeParse(JSON.parse(text));
        return parsed.success ? restoredAlertState(parsed.data, names) : emptyAlertState();
      } catch {
        return emptyAlertState();
      }
    },
    async save(state) {
      await assertTrusted();
      await writeFileAtomic(path, `${JSON.stringify(storedAlertState(state, names))}\n`, { mode: 0o600 });
    },
  };
}
