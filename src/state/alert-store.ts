import { join } from "node:path";
import { z } from "zod";
import { type AlertState, emptyAlertState } from "../model/alerts.js";
import { readFileNoFollow, writeFileAtomic } from "../util/atomic.js";

const firingAlert = z.object({
  event: z.enum(["held", "failed", "unexpected", "changed", "drift", "exposure"]),
  target: z.string(),
  guard: z.string().nullable(),
  severity: z.enum(["critical", "warning", "info"]),
  summary: z.string(),
  since: z.string(),
  lastSent: z.string(),
  about: z.array(z.string()).optional(),
  ended: z.string().optional(),
  unsent: z.object({ phase: z.enum(["firing", "reminder", "resolved"]), sinks: z.array(z.string()) }).optional(),
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

/** The alert lifecycle's memory, one small file in `stateDir`, so that a CronJob's runs share it. */
export function alertStore(stateDir: string): AlertStore {
  const path = alertStatePath(stateDir);
  return {
    async load() {
      const text = await readFileNoFollow(path).catch(() => undefined);
      if (text === undefined) return emptyAlertState();
      try {
        const parsed = alertStateSchema.safeParse(JSON.parse(text));
        return parsed.success ? parsed.data : emptyAlertState();
      } catch {
        return emptyAlertState();
      }
    },
    async save(state) {
      await writeFileAtomic(path, `${JSON.stringify(state)}\n`, { mode: 0o600 });
    },
  };
}
