import { createServer, type Server } from "node:http";
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "pino";
import type { RunResult } from "../model/result.js";
import { createMetrics, type Metrics } from "../metrics/metrics.js";

export interface DaemonOptions {
  schedule: string;
  listen: { host: string; port: number };
  /** The first run waits a random delay up to this, so replicas do not start together. */
  jitterMs: number;
  /** One sync; the signal asks it to stop before its first change. */
  runSync: (signal: AbortSignal) => Promise<RunResult>;
  logger: Logger;
  now?: () => Date;
  random?: () => number;
}

export interface RunningDaemon {
  url: string;
  metrics: Metrics;
  /** Stops scheduling, aborts a run that has not started changing anything, waits for it, closes the server. */
  stop(): Promise<void>;
}

/** Time between two scheduled runs, from the cron expression itself. */
function periodMs(task: ScheduledTask): number {
  const [a, b] = task.getNextRuns(2);
  return a && b ? b.getTime() - a.getTime() : 60_000;
}

/** Runs sync on a schedule, never two at once, and serves /metrics and /healthz. */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const now = options.now ?? (() => new Date());
  const log = options.logger;
  const metrics = createMetrics();
  const startedAt = now().getTime();
  const controller = new AbortController();
  let current: Promise<void> | undefined;
  let stopping = false;

  const tick = async (reason: string) => {
    if (stopping) return;
    if (current) {
      log.warn({ reason }, "previous run still in progress; this one is skipped");
      return;
    }
    current = (async () => {
      try {
        const result = await options.runSync(controller.signal);
        metrics.observe(result, now());
      } catch (err) {
        log.error({ err }, "run crashed");
      }
    })();
    await current;
    current = undefined;
  };

  const task = cron.createTask(options.schedule, () => tick("schedule"), { noOverlap: true, name: "travis-allowlist-sync" });
  const period = periodMs(task);

  const healthy = (): { ok: boolean; reason: string } => {
    const limit = 3 * period;
    const success = metrics.lastSuccess();
    const age = now().getTime() - (success === undefined ? startedAt : success * 1000);
    if (success === undefined)
      return { ok: age < limit, reason: age < limit ? "starting: no run has succeeded yet" : `no successful run in ${Math.round(age / 1000)} s` };
    return { ok: age < limit, reason: `last success ${Math.round(age / 1000)} s ago (limit ${Math.round(limit / 1000)} s)` };
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      metrics.text().then(
        (text) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
      return;
    }
    if (req.method === "GET" && path === "/healthz") {
      const { ok, reason } = healthy();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
      res.end(`${ok ? "ok" : "unhealthy"}: ${reason}\n`);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listen.port, options.listen.host, () => resolve());
  });
  const address = server.address() as { address: string; port: number };
  const url = `http://${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ schedule: options.schedule, url, periodSeconds: period / 1000 }, "daemon started");

  const delay = Math.floor((options.random ?? Math.random)() * options.jitterMs);
  const first = setTimeout(() => {
    void tick("start");
    void task.start();
  }, delay);

  return {
    url,
    metrics,
    async stop() {
      stopping = true;
      clearTimeout(first);
      await task.stop();
      await task.destroy();
      controller.abort();
      if (current) {
        log.info("waiting for the current run to finish or stop before its first change");
        await current;
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      log.info("daemon stopped");
    },
  };
}
