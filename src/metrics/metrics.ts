import { Counter, Gauge, Registry } from "prom-client";
import type { Scrubber } from "../util/secrets.js";
import type { RunDenials } from "../model/denials.js";
import type { RunResult } from "../model/result.js";

/** The metric names, the same in daemon `/metrics`, Pushgateway and textfile. */
export const METRIC = {
  lastRun: "travis_allowlist_last_run_timestamp_seconds",
  lastSuccess: "travis_allowlist_last_success_timestamp_seconds",
  desired: "travis_allowlist_desired_entries",
  changes: "travis_allowlist_last_run_changes",
  duration: "travis_allowlist_last_run_duration_seconds",
  inSync: "travis_allowlist_instance_in_sync",
  pendingRemovals: "travis_allowlist_pending_removals",
  sourceUp: "travis_allowlist_source_up",
  lastRunHeld: "travis_allowlist_last_run_held",
  runs: "travis_allowlist_runs_total",
  holds: "travis_allowlist_guard_holds_total",
  sourceFailures: "travis_allowlist_source_failures_total",
  restarts: "travis_allowlist_instance_restarts_total",
  deniedClients: "travis_allowlist_denied_clients",
  deniedRequests: "travis_allowlist_denied_requests",
} as const;

/** How a run ended, for `runs_total{outcome}`. */
export type RunsLabel = "ok" | "held" | "failed";

export interface Metrics {
  registry: Registry;
  /** Folds one finished run into the metrics. */
  observe(result: RunResult, finishedAt: Date): void;
  /** Seconds since the epoch of the last successful run, if any. */
  lastSuccess(): number | undefined;
  /** A new HAProxy process (restart, reload, new replica) was seen behind a target (daemon). */
  restartSeen(target: string): void;
  /** The denied clients' tables as last read (a run, or the daemon's denial watch): what they hold now, by instance and reason. */
  denialsSeen(denials: RunDenials): void;
  text(): Promise<string>;
}

/** A run succeeded when nothing failed and nothing was held. */
export function succeeded(result: Pick<RunResult, "outcome">): boolean {
  return runsLabelOf(result) === "ok";
}

export interface MetricsOptions {
  /**
   * One run per process (Pushgateway, textfile): only gauges that describe the
   * last run, no counters (each would start again from 0 every run, and
   * `increase()` would miss what it counts), and no last-success gauge until a
   * run succeeds, so that a failed run's push does not erase an earlier one.
   */
  oneShot?: boolean;
  /** Takes the config's secrets out of label values. */
  scrubber: Scrubber;
}

export function runsLabelOf({ outcome }: Pick<RunResult, "outcome">): RunsLabel {
  return outcome === "failed" || outcome === "held" ? outcome : "ok";
}

export function createMetrics(options: MetricsOptions): Metrics {
  const { scrubber } = options;
  // Label values carry source names and targets, which a config may build from `${VAR}`: only they are
  // scrubbed, as they are set. Scrubbing the whole text would turn a metric name into `***_allowlist_…`
  // when a secret is a word such as `travis`.
  const label = (value: string) => scrubber.text(value);
  const registry = new Registry();
  const instruments = instrumentsIn(registry, options.oneShot ?? false);
  let successAt: number | undefined;
  let lastSuccess: Gauge | undefined = options.oneShot ? undefined : lastSuccessGauge(registry);
  let denied: DeniedGauges | undefined;
  const denialsSeen = (denials: RunDenials) => {
    denied ??= deniedGaugesIn(registry);
    setDenied(denied, denials, label);
  };
  return {
    registry,
    observe(result, finishedAt) {
      const seconds = finishedAt.getTime() / 1000;
      observeRun(instruments, result, seconds, label);
      if (result.denied) denialsSeen(result.denied);
      if (succeeded(result) && !result.dryRun) {
        successAt = seconds;
        lastSuccess ??= lastSuccessGauge(registry);
        lastSuccess.set(seconds);
      }
    },
    lastSuccess: () => successAt,
    restartSeen: (target) => instruments.daemon?.restarts.inc({ target: label(target) }),
    denialsSeen,
    text: () => registry.metrics(),
  };
}

/** A gauge that, one-shot, is exported only once set, so that a run that judged nothing leaves the earlier values in place. */
interface LazyGauge {
  set(labelsOrValue: Record<string, string> | number, value?: number): void;
}

/** What a run sets; `daemon`, the counters, only in a process that runs many times. */
interface Instruments {
  lastRun: Gauge;
  desired: LazyGauge;
  changes: Gauge;
  duration: Gauge;
  inSync: LazyGauge;
  pending: LazyGauge;
  sourceUp: Gauge;
  held: Gauge;
  daemon: { runs: Counter; holds: Counter; sourceFailures: Counter; restarts: Counter } | undefined;
}

const gaugeIn = (registry: Registry, name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });
const counterIn = (registry: Registry, name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers: [registry] });
const lastSuccessGauge = (registry: Registry) => gaugeIn(registry, METRIC.lastSuccess, "Unix time of the last successful run.");

function lazyGaugeIn(registry: Registry, oneShot: boolean, name: string, help: string, labelNames: string[] = []): LazyGauge {
  let made: Gauge | undefined = oneShot ? undefined : gaugeIn(registry, name, help, labelNames);
  return {
    set(labelsOrValue, value) {
      made ??= gaugeIn(registry, name, help, labelNames);
      if (typeof labelsOrValue === "number") made.set(labelsOrValue);
      else made.set(labelsOrValue, value ?? 0);
    },
  };
}

/** The metrics registered in the order they are exported, the counters at 0 and no run held. */
function instrumentsIn(registry: Registry, oneShot: boolean): Instruments {
  const gauge = (name: string, help: string, labelNames?: string[]) => gaugeIn(registry, name, help, labelNames);
  const lazy = (name: string, help: string, labelNames?: string[]) => lazyGaugeIn(registry, oneShot, name, help, labelNames);
  const counter = (name: string, help: string, labelNames?: string[]) => counterIn(registry, name, help, labelNames);
  const instruments: Instruments = {
    lastRun: gauge(METRIC.lastRun, "Unix time the last run finished."),
    desired: lazy(METRIC.desired, "Entries in the last desired set the sources gave (kept while they fail)."),
    changes: gauge(METRIC.changes, "Entries added and removed by the last run, across instances.", ["op"]),
    duration: gauge(METRIC.duration, "Duration of the last run in seconds."),
    inSync: lazy(METRIC.inSync, "1 when the instance held the desired set after the last run that reached it.", ["target"]),
    pending: lazy(METRIC.pendingRemovals, "Owned entries absent upstream, kept until their grace period ends, per instance.", ["target"]),
    sourceUp: gauge(METRIC.sourceUp, "1 when the source answered in the last run, 0 when it failed.", ["source"]),
    held: gauge(METRIC.lastRunHeld, "1 when a guard held the last run."),
    daemon: oneShot
      ? undefined
      : {
          runs: counter(METRIC.runs, "Runs by outcome (ok, held, failed).", ["outcome"]),
          holds: counter(METRIC.holds, "Runs held by a guard."),
          sourceFailures: counter(METRIC.sourceFailures, "Runs in which the source failed.", ["source"]),
          restarts: counter(METRIC.restarts, "New HAProxy processes (restart, reload) the daemon saw behind a target and synced at once.", ["target"]),
        },
  };
  for (const outcome of ["ok", "held", "failed"] satisfies RunsLabel[]) instruments.daemon?.runs.inc({ outcome }, 0);
  instruments.daemon?.holds.inc(0);
  instruments.held.set(0);
  return instruments;
}

/** Folds one finished run into everything but the last-success time. */
function observeRun(instruments: Instruments, result: RunResult, seconds: number, label: (value: string) => string): void {
  const { daemon } = instruments;
  instruments.lastRun.set(seconds);
  // Without a desired set (its sources failed) nothing was compared: the last known values stand.
  if (result.desired.digest !== null) instruments.desired.set(result.desired.count);
  const applied = result.instances.filter((i) => i.status === "applied");
  instruments.changes.set(
    { op: "add" },
    applied.reduce((n, i) => n + i.add.length, 0),
  );
  instruments.changes.set(
    { op: "remove" },
    applied.reduce((n, i) => n + i.remove.length, 0),
  );
  instruments.duration.set(result.durationMs / 1000);
  for (const i of result.instances) {
    if (i.errorCode === "E_NOT_CONTACTED") continue;
    instruments.inSync.set({ target: label(i.target) }, i.status === "applied" || i.status === "in-sync" ? 1 : 0);
    if (i.status !== "failed") instruments.pending.set({ target: label(i.target) }, i.pendingRemoval.length);
  }
  instruments.held.set(result.held ? 1 : 0);
  for (const s of result.sources) {
    instruments.sourceUp.set({ source: label(s.name) }, s.status === "ok" ? 1 : 0);
    daemon?.sourceFailures.inc({ source: label(s.name) }, s.status === "failed" ? 1 : 0);
  }
  daemon?.runs.inc({ outcome: runsLabelOf(result) });
  if (result.held) daemon?.holds.inc();
}

/** Made at the first reading of the tables: without `haproxy.denials` they are not exported at all. */
interface DeniedGauges {
  clients: Gauge;
  requests: Gauge;
}

function deniedGaugesIn(registry: Registry): DeniedGauges {
  return {
    clients: gaugeIn(registry, METRIC.deniedClients, "Clients the denied clients' table lists, as last read, per instance and reason.", ["target", "reason"]),
    requests: gaugeIn(registry, METRIC.deniedRequests, "Denied requests (or connections) of those clients, as last read, per instance and reason.", [
      "target",
      "reason",
    ]),
  };
}

/** The tables as read now replace the last reading: a reason no client has any more is no longer exported. */
function setDenied(gauges: DeniedGauges, denials: RunDenials, label: (value: string) => string): void {
  gauges.clients.reset();
  gauges.requests.reset();
  for (const { target, reason, clients, requests } of denials.counts) {
    gauges.clients.set({ target: label(target), reason }, clients);
    gauges.requests.set({ target: label(target), reason }, requests);
  }
}
