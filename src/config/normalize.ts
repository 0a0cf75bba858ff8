import { ConfigError } from "../errors.js";
import { parseDuration } from "./duration.js";
import { parseLimit } from "./limits.js";
import type { Config, ConfigFile } from "./schema.js";
import { schedulePeriodMs } from "./schedule-period.js";

/** The schema accepted the text already; a value it let through that does not parse is a bug here, reported against the key. */
function checked<T>(value: T | undefined, key: string, text: unknown): T {
  if (value === undefined) throw new ConfigError([{ path: key, message: `cannot use ${JSON.stringify(text)}` }]);
  return value;
}

const durationMs = (text: string, key: string) => checked(parseDuration(text), key, text);
const limitOf = (value: number | string, key: string) => checked(parseLimit(value), key, value);

/**
 * The config as the rest of the program uses it, computed once after
 * validation: durations in milliseconds, limits as counts or fractions, the
 * schedule's period. Nothing after this reads a duration or a percentage as text.
 */
export function normalizeConfig(file: ConfigFile, now: Date): Config {
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
    schedulePeriodMs: schedulePeriodMs(file.schedule, now),
  };
}
