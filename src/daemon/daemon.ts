import { createServer, type Server } from "node:http";
import cron from "node-cron";
import type { Logger } from "pino";
import type { RunResult } from "../model/result.js";
import { createMetrics, type Metrics, succeeded } from "../metrics/metrics.js";
import { AllowlistError } from "../errors.js";
import { newProcesses, type Processes } from "./watch.js";

/** Why the daemon starts a run: the first one, the schedule, a new HAProxy process, or a retry while not ready. */
export type TickReason = "start" | "schedule" | "restart" | "retry";

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
  now?: () => Date;
  random?: () => number;
  /** The restart watch: every `intervalMs`, which process answers behind each target; a new one is synced at once. */
  watch?: { intervalMs: number; observe: () => Promise<Processes> };
  /** While not ready, a failed run is tried again after this, doubling up to the schedule's period (default 10 s). */
  retryMs?: number;
}

export interface RunningDaemon {
  url: string;
  metrics: Metrics;
  /** Stops scheduling, aborts a run that has not started changing anything, waits for it, closes the server. */
  stop(): Promise<void>;
}

/** Runs sync on a schedule, never two at once, and serves /metrics and /healthz. */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const now = options.now ?? (() => new Date());
  const log = options.logger;
  const metrics = createMetrics();
  const startedAt = now().getTime();
  const controller = new AbortController();
  let current: Promise<void> | undefined;
  let again = false;
  let stopping = false;
  /** Ready once a run succeeded after the last new HAProxy process was seen: only then does it hold the current list. */
  let readiness: { ok: boolean; reason: string } = { ok: false, reason: "no successful sync yet" };

  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelay = options.retryMs ?? 10_000;
  /** A pod waiting for its first current list must not wait a whole schedule period for the next try. */
  const retryWhileNotReady = () => {
    if (stopping || readiness.ok) return;
    clearTimeout(retryTimer);
    log.info({ retryInSeconds: retryDelay / 1000 }, "not ready: the sync failed; trying again soon");
    retryTimer = setTimeout(() => void tick("retry"), retryDelay);
    retryDelay = Math.min(retryDelay * 2, Math.max(period, options.retryMs ?? 10_000));
  };

  const runNow = async (reason: TickReason) => {
    try {
      const result = await options.runSync(controller.signal, reason);
      metrics.observe(result, now());
      if (succeeded(result) && !again) {
        readiness = { ok: true, reason: `synced at ${now().toISOString()}` };
        retryDelay = options.retryMs ?? 10_000;
      }
    } catch (err) {
      log.error({ err }, "run crashed");
    }
  };

  const tick = async (reason: TickReason) => {
    if (stopping) return;
    if (current) {
      // A new HAProxy process must not wait for the next schedule: sync again as soon as this run ends.
      if (reason === "restart") again = true;
      else log.warn({ reason }, "previous run still in progress; this one is skipped");
      return;
    }
    current = (async () => {
      await runNow(reason);
      while (again && !stopping) {
        again = false;
        await runNow("restart");
      }
    })();
    await current;
    current = undefined;
    retryWhileNotReady();
  };

  const task = cron.createTask(options.schedule, () => tick("schedule"), { noOverlap: true, name: "travis-allowlist-sync" });
  const period = options.periodMs;

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
    // HEAD is what a probe or a scraper's pre-flight sends: the same answer without the body (node:http drops it).
    const read = req.method === "GET" || req.method === "HEAD";
    if (read && path === "/metrics") {
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
    if (read && path === "/readyz") {
      res.writeHead(readiness.ok ? 200 : 503, { "content-type": "text/plain" });
      res.end(`${readiness.ok ? "ready" : "not ready"}: ${readiness.reason}\n`);
      return;
    }
    if (read && path === "/healthz") {
      const { ok, reason } = healthy();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
      res.end(`${ok ? "ok" : "unhealthy"}: ${reason}\n`);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  });
  try {
    await listen(server, options.listen);
  } catch (err) {
    await task.destroy();
    throw err;
  }
  const address = server.address() as { address: string; port: number };
  const url = `http://${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ schedule: options.schedule, url, periodSeconds: period / 1000 }, "daemon started");

  let seen: Processes | undefined;
  let watchTimer: NodeJS.Timeout | undefined;
  const look = async () => {
    if (!options.watch || stopping) return;
    try {
      const processes = await options.watch.observe();
      const fresh = newProcesses(seen, processes);
      seen = processes;
      if (fresh.length > 0 && !stopping) {
        for (const target of fresh) metrics.restartSeen(target);
        log.info({ targets: fresh }, "a new HAProxy process (restart, reload or new instance) holds the list file's content; syncing now");
        readiness = { ok: false, reason: `new HAProxy process behind ${fresh.join(", ")} at ${now().toISOString()}, not yet synced` };
        void tick("restart");
      }
    } catch (err) {
      log.warn({ err }, "the restart watch could not ask the instances");
    }
    if (!stopping && options.watch) watchTimer = setTimeout(() => void look(), options.watch.intervalMs);
  };
  // The first look is the baseline, taken before the first sync, which covers anything older.
  if (options.watch) void look();

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
      // A look in progress ends on its own deadline and starts nothing once stopping.
      clearTimeout(watchTimer);
      clearTimeout(retryTimer);
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

/** Binds metrics.listen; an address that cannot be bound is named, with what to do about it. */
function listen(server: Server, address: { host: string; port: number }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const where = `${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
      const why =
        err.code === "EADDRINUSE"
          ? "is already in use by another process (another daemon, or an exporter)"
          : err.code === "EADDRNOTAVAIL"
            ? "is not an address of this host"
            : err.code === "EACCES"
              ? "needs privileges this process does not have (ports below 1024)"
              : `cannot be bound (${err.message})`;
      reject(new AllowlistError("E_METRICS_LISTEN", `metrics.listen ${where} ${why}: free it, or set metrics.listen to another host:port`, { cause: err }));
    });
    server.listen(address.port, address.host, () => resolve());
  });
}
