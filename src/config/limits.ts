import cron from "node-cron";
import type { GuardSettings, Limit } from "../plan/guards.js";
import { parseDuration } from "./duration.js";
import type { GuardsConfig } from "./schema.js";

const PERCENT = /^(\d+(?:\.\d+)?)%$/;

/** `10` → at most 10 entries; `"25%"` → at most a quarter of the owned set; undefined when malformed. */
export function parseLimit(value: number | string): Limit | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? { count: value } : undefined;
  const match = PERCENT.exec(value);
  return match ? { fraction: Number(match[1]) / 100 } : undefined;
}

/** How long a whole run may take, in milliseconds. */
export function runTimeoutMsOf(config: { runTimeout: string }): number {
  return parseDuration(config.runTimeout) ?? 300_000;
}

/**
 * The end of `runTimeout` kept for reporting a run (alerts, metrics push):
 * a run that times out must still be able to say so, and still end in time.
 */
export function reportingReserveMs(runTimeoutMs: number): number {
  return Math.min(10_000, Math.floor(runTimeoutMs / 5));
}

/** How often the daemon asks each instance which process it is; 0 turns the restart watch off. */
export function watchIntervalMsOf(config: { watchInterval: string }): number {
  return parseDuration(config.watchInterval) ?? 5000;
}

/** The guards as the planner uses them: limits and durations parsed once, here, from the validated config. */
export function guardSettingsOf(guards: GuardsConfig): GuardSettings & { removeAfterMs: number } {
  return {
    minEntries: guards.minEntries,
    maxAdditions: parseLimit(guards.maxAdditions) ?? { count: 0 },
    maxRemovals: parseLimit(guards.maxRemovals) ?? { count: 0 },
    ...(guards.expected ? { expected: guards.expected } : {}),
    removeAfterMs: parseDuration(guards.removeAfter) ?? 0,
  };
}

/** How long identical in-sync runs go unrecorded after the last record (`audit.heartbeat`); 0 records every run. */
export function heartbeatMsOf(config: { audit: { heartbeat: string } }): number {
  return parseDuration(config.audit.heartbeat) ?? 3_600_000;
}

/** How long a firing alert is not sent again to Slack or webhooks (`alerts.repeatInterval`). */
export function repeatIntervalMsOf(config: { alerts?: { repeatInterval: string } | undefined }): number {
  return parseDuration(config.alerts?.repeatInterval ?? "4h") ?? 4 * 3_600_000;
}

/** Time between two runs of `schedule`, from the cron expression itself. */
export function schedulePeriodMs(schedule: string): number {
  const task = cron.createTask(schedule, () => undefined);
  try {
    const [a, b] = task.getNextRuns(2);
    return a && b ? b.getTime() - a.getTime() : 600_000;
  } finally {
    void task.destroy();
  }
}
