import { type Config, parseListen } from "../../config/schema.js";
import type { Processes } from "../../daemon/watch.js";
import { resolveTargets } from "../../haproxy/discover.js";
import { HaproxyInstance } from "../../haproxy/runtime.js";
import { mapLimit } from "../../reconcile/pool.js";
import { startDaemon } from "../../daemon/daemon.js";
import { UsageError } from "../../errors.js";
import { EXIT } from "../../model/result.js";
import { runOnce } from "../../reconcile/run.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { buildRunDeps } from "./sync.js";

const DEFAULT_LISTEN = "0.0.0.0:9464";

/** Runs until SIGTERM or SIGINT; a run in progress finishes, or stops before its first change. */
export async function daemonCommand(global: GlobalOptions, options: { jitter: number }, io: Io): Promise<number> {
  const { config, file, logger } = await loadContext(global, io, { resultOnStdout: false });
  const listen = parseListen(config.metrics?.listen ?? DEFAULT_LISTEN);
  if (!listen) throw new UsageError(`metrics.listen: expected host:port`);
  const deps = await buildRunDeps(config, file, logger, io.env, true);
  const daemon = await startDaemon({
    schedule: config.schedule,
    periodMs: config.schedulePeriodMs,
    listen,
    jitterMs: options.jitter * 1000,
    logger,
    now: io.now,
    runSync: (signal, reason) =>
      runOnce(config, deps, { dryRun: false, detailedExitcode: false, signal, ...(reason === "restart" ? { trigger: "restart" as const } : {}) }),
    ...(config.watchIntervalMs > 0 ? { watch: { intervalMs: config.watchIntervalMs, observe: () => observeProcesses(config) } } : {}),
  });
  await new Promise<void>((resolve) => {
    const shutdown = (signal: NodeJS.Signals) => {
      logger.info({ signal }, "shutting down");
      process.off("SIGTERM", shutdown);
      process.off("SIGINT", shutdown);
      resolve();
    };
    process.on("SIGTERM", shutdown);
    process.on("SIGINT", shutdown);
  });
  await daemon.stop();
  return EXIT.ok;
}

/** Which process answers behind each instance: one `show info` per instance, each within a short deadline of its own. */
async function observeProcesses(config: Config): Promise<Processes> {
  const { tls, concurrency } = config.haproxy;
  // A look must not outlast the next one by much, whatever a run may wait for.
  const timeoutMs = Math.min(config.haproxy.timeoutMs, Math.max(config.watchIntervalMs, 2000));
  const targets = await resolveTargets(config.haproxy, { timeoutMs });
  const processes = new Map<string, string | undefined>();
  await mapLimit(targets, concurrency, async (target) => {
    try {
      const instance = await HaproxyInstance.connect(target, { timeoutMs, tls });
      processes.set(target, instance.process);
      await instance.close();
    } catch {
      processes.set(target, undefined);
    }
  });
  return processes;
}
