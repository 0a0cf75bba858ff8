import { Counter, Gauge, Registry } from "prom-client";
import { scrubSecrets } from "../util/secrets.js";
import type { RunResult } from "../model/result.js";

/** The metric names, the same in daemon `/metrics`, Pushgateway and textfile. */
export const METRIC = {
  lastRun: "travis_allowlist_last_run_timestamp_seconds",
  lastSuccess: "travis_allowlist_last_success_timestamp_seconds",
  desired: "travis_allowlist_desired_entries",
  changes: "travis_allowlist_last_run_changes",
  duration: "travis_allowlist_last_run_duration_seconds",
  inSync: "travis_allowlist_instance_in_sync",
  holds: "travis_allowlist_guard_holds_total",
  sourceFailures: "travis_allowlist_source_failures_total",
  restarts: "travis_allowlist_instance_restarts_total",
} as const;

export interface Metrics {
  registry: Registry;
  /** Folds one finished run into the metrics. */
  observe(result: RunResult, finishedAt: Date): void;
  /** Seconds since the epoch of the last successful run, if any. */
  lastSuccess(): number | undefined;
  /** A new HAProxy process (restart, reload, new replica) was seen behind a target (daemon). */
  restartSeen(target: string): void;
  text(): Promise<string>;
}

/** A run succeeded when nothing failed and nothing was held. */
export function succeeded(result: RunResult): boolean {
  return result.exitCode === 0 || result.exitCode === 2;
}

export interface MetricsOptions {
  /** Leave the last-success gauge out until a run succeeds (one-shot pushes). */
  omitUnsetSuccess?: boolean;
}

/**
 * Label values carry source names and targets, which a config may build from
 * `${VAR}`: only they are scrubbed, as they are set. Scrubbing the whole text
 * would turn a metric name into `***_allowlist_…` when a secret is a word
 * such as `travis`.
 */
const label = (value: string) => scrubSecrets(value);

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });
  const lastRun = gauge(METRIC.lastRun, "Unix time the last run finished.");
  const desired = gauge(METRIC.desired, "Entries in the desired set of the last run.");
  const changes = gauge(METRIC.changes, "Entries added and removed by the last run, across instances.", ["op"]);
  const duration = gauge(METRIC.duration, "Duration of the last run in seconds.");
  const inSync = gauge(METRIC.inSync, "1 when the instance holds the desired set after the last run.", ["target"]);
  const holds = new Counter({ name: METRIC.holds, help: "Runs held by a guard.", registers: [registry] });
  const sourceFailures = new Counter({ name: METRIC.sourceFailures, help: "Source failures.", labelNames: ["source"], registers: [registry] });
  const restarts = new Counter({
    name: METRIC.restarts,
    help: "New HAProxy processes (restart, reload) the daemon saw behind a target and synced at once.",
    labelNames: ["target"],
    registers: [registry],
  });
  let successAt: number | undefined;
  let lastSuccess: Gauge | undefined = options.omitUnsetSuccess ? undefined : gauge(METRIC.lastSuccess, "Unix time of the last successful run.");
  holds.inc(0);

  return {
    registry,
    observe(result, finishedAt) {
      const seconds = finishedAt.getTime() / 1000;
      lastRun.set(seconds);
      desired.set(result.desired.count);
      const applied = result.instances.filter((i) => i.status === "applied");
      changes.set(
        { op: "add" },
        applied.reduce((n, i) => n + i.add.length, 0),
      );
      changes.set(
        { op: "remove" },
        applied.reduce((n, i) => n + i.remove.length, 0),
      );
      duration.set(result.durationMs / 1000);
      inSync.reset();
      for (const i of result.instances) inSync.set({ target: label(i.target) }, i.status === "applied" || i.status === "in-sync" ? 1 : 0);
      if (result.held) holds.inc();
      for (const s of result.sources) {
        if (s.status === "failed") sourceFailures.inc({ source: label(s.name) });
        else sourceFailures.inc({ source: label(s.name) }, 0);
      }
      if (succeeded(result) && !result.dryRun) {
        successAt = seconds;
        lastSuccess ??= gauge(METRIC.lastSuccess, "Unix time of the last successful run.");
        lastSuccess.set(seconds);
      }
    },
    lastSuccess: () => successAt,
    restartSeen: (target) => restarts.inc({ target: label(target) }),
    text: () => registry.metrics(),
  };
}
