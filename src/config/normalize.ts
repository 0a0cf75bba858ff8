import cron from "node-cron";
import { ConfigError } from "../errors.js";
import { parseDuration } from "./duration.js";
import { parseLimit } from "./limits.js";
import type { Config, ConfigFile } from "./schema.js";

/** The schema accepted the text already; a value it let through that does not parse is a bug here, reported against the key. */
function checked<T>(value: T | undefined, key: string, text: unknown): T {
  if (value === undefined) throw new ConfigError([{ path: key, message: `cannot use ${JSON.stringify(text)}` }]);
  return value;
}

const durationMs = (text: string, key: string) => checked(parseDuration(text), key, text);
const limitOf = (value: number | string, key: string) => checked(parseLimit(value), key, value);

const DAY_MS = 86_400_000;

/**
 * Runs to look ahead, from the first gap: enough to see a weekend in a
 * weekdays-only schedule, and no years of runs for a schedule that is already
 * rare (every config load pays for this).
 */
function runsAhead(firstGapMs: number): number {
  if (firstGapMs < DAY_MS / 2) return 24;
  return firstGapMs < 7 * DAY_MS ? 9 : 2;
}

/**
 * The longest time between two of the next runs of `schedule`: an irregular
 * schedule (9:00 and 17:00) is judged by its longer gap, whatever the time now.
 */
function schedulePeriodMs(schedule: string): number {
  const task = cron.createTask(schedule, () => undefined);
  try {
    const [a, b] = task.getNextRuns(2).map((d) => d.getTime());
    if (a === undefined || b === undefined) return 600_000;
    const runs = task.getNextRuns(runsAhead(b - a)).map((d) => d.getTime());
    return Math.max(b - a, ...runs.slice(1).map((t, i) => t - (runs[i] as number)));
  } finally {
    void task.destroy();
  }
}

/**
 * The config as the rest of the program uses it, computed once after
 * validation: durations in milliseconds, limits as counts or fractions, the
 * schedule's period. Nothing after this reads a duration or a percentage as text.
 */
export function normalizeConfig(file: ConfigFile): Config {
  const { guards, audit, alerts, runTimeout, watchInterval, ...rest } = file;
  const { maxAdditions, maxRemovals, removeAfter, ...guardRest } = guards;
  const { heartbeat, ...auditRest } = audit;
  const { repeatInterval, ...alertsRest } = alerts;
  return {
    ...rest,
    guards: {
      ...guardRest,
      maxAdditions: limitOf(maxAdditions, "guards.maxAdditions"),
      maxRemovals: limitOf(maxRemovals, "guards.maxRemovals"),
      removeAfterMs: durationMs(removeAfter, "guards.removeAfter"),
    },
    audit: { ...auditRest, heartbeatMs: durationMs(heartbeat, "audit.heartbeat") },
    alerts: { ...alertsRest, repeatIntervalMs: durationMs(repeatInterval, "alerts.repeatInterval") },
    runTimeoutMs: durationMs(runTimeout, "runTimeout"),
    watchIntervalMs: durationMs(watchInterval, "watchInterval"),
    schedulePeriodMs: schedulePeriodMs(file.schedule),
  };
}
