import type { Logger } from "pino";
import type { DenialLook } from "../model/denials.js";
import type { RunResult } from "../model/result.js";
import { createMetrics, type Metrics, succeeded } from "../metrics/metrics.js";
import { health, newHistory, readiness, recordRestart, recordRun } from "./health.js";
import { Scheduler, type TickReason } from "./scheduler.js";
import { startProbeServer } from "./server.js";
import type { Processes } from "./watch.js";
import type { Scrubber } from "../util/secrets.js";

export interface DaemonOptions {
  schedule: string;
  /** The longest time between two runs of `schedule` (the config's schedulePeriodMs): /healthz allows three of them. */
  periodMs: number;
  listen: { host: string; port: number };
  /** The first run waits a random delay up to this, so replicas do not start together. */
  jitterMs: number;
  /** One sync, told why it runs; the signal asks it to stop before its first change. */
  runSync: (signal: AbortSignal, reason: TickReason) => Promise<RunResult>;
  logger: Logger;
  /** Takes the config's secrets out of metric labels. */
  scrubber: Scrubber;
  now?: () => Date;
  random?: () => number;
  /** The restart watch: every `intervalMs`, which process answers behind each target; a new one is synced at once. */
  watch?: { intervalMs: number; observe: () => Promise<Processes> };
  /**
   * The denial watch: every `intervalMs`, who the tables show as turned away, judged against the
   * last run; a published runner denied, or a client that run did not see, is synced at once (at most one a minute).
   */
  denialWatch?: { intervalMs: number; look: () => Promise<DenialLook | undefined> };
  /** While not ready, a failed run is tried again after this, doubling up to the schedule's period (default 10 s). */
  retryMs?: number;
}

export interface RunningDaemon {
  url: string;
  metrics: Metrics;
  /** Stops scheduling, aborts a run that has not started changing anything, waits for it, closes the server. */
  stop(): Promise<void>;
}

/** Runs sync on a schedule, never two at once, and serves /metrics, /healthz and /readyz judged on the runs it recorded. */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const now = options.now ?? (() => new Date());
  const log = options.logger;
  const metrics = createMetrics({ scrubber: options.scrubber });
  let history = newHistory(now().getTime());
  const server = await startProbeServer(
    options.listen,
    {
      metrics,
      health: () => health(history, options.periodMs, now().getTime()),
      readiness: () => readiness(history),
    },
    { logger: log },
  );
  log.info({ schedule: options.schedule, url: server.url, periodSeconds: options.periodMs / 1000, ...server.limits }, "daemon started");

  const scheduler = new Scheduler({
    schedule: options.schedule,
    periodMs: options.periodMs,
    jitterMs: options.jitterMs,
    random: options.random ?? Math.random,
    retryMs: options.retryMs ?? 10_000,
    logger: log,
    ...(options.watch ? { watch: options.watch } : {}),
    ...(options.denialWatch ? { denialWatch: options.denialWatch } : {}),
    onDenials: (denials) => metrics.denialsSeen(denials),
    now,
    run: async (signal, reason) => {
      const restartsBefore = history.restarts.count;
      const result = await options.runSync(signal, reason);
      const at = now();
      metrics.observe(result, at);
      history = recordRun(history, { succeeded: succeeded(result), restartsBefore, at: at.getTime() });
    },
    ready: () => readiness(history).ok,
    onRestart: (targets) => {
      for (const target of targets) metrics.restartSeen(target);
      history = recordRestart(history, targets, now().getTime());
    },
  });
  scheduler.start();

  return {
    url: server.url,
    metrics,
    async stop() {
      await scheduler.stop();
      await server.close();
      log.info("daemon stopped");
    },
  };
}
