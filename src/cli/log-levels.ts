/** Kept apart from the logger so that `--help` loads no logging library. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
