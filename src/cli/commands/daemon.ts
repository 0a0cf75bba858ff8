import { parseListen } from "../../config/schema.js";
import { startDaemon } from "../../daemon/daemon.js";
import { UsageError } from "../../errors.js";
import { runOnce } from "../../reconcile/run.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { EXIT } from "../exit.js";
import { shownRun } from "../render/run.js";
import { logRunSummary } from "../run-summary.js";
import { denialsBetweenRuns } from "../../reconcile/run-denials.js";
import { type LastRun, RunMemory } from "../../reconcile/last-run.js";
import type { TickReason } from "../../daemon/scheduler.js";
import type { AuditTrigger } from "../../audit/record.js";
import { restartWatch, runDeps, watchConnection } from "../wiring.js";

const DEFAULT_LISTEN = "0.0.0.0:9464";

/** What the audit trail records as the trigger of a run the daemon started for a reason of its own; the others are `scheduled`. */
const TRIGGERS: Partial<Record<TickReason, AuditTrigger>> = { restart: "restart", denial: "denial" };

/** Runs until SIGTERM or SIGINT; a run in progress finishes, or stops before its first change. */
export async function daemonCommand(global: GlobalOptions, options: { jitter: number }, io: Io): Promise<number> {
  const { config, file, logger, scrubber } = await loadContext(global, io, { resultOnStdout: false });
  const listen = parseListen(config.metrics?.listen ?? DEFAULT_LISTEN);
  if (!listen) throw new UsageError(`metrics.listen: expected host:port`);
  const deps = { ...(await runDeps(config, file, logger, scrubber, io.env, true)), now: io.now };
  const watch = restartWatch(config, scrubber);
  const table = config.haproxy.denials;
  // What the last run knew, replaced by each run that read the tables: the looks between runs judge by it.
  // Until the first run has, a look does nothing: that run reads the tables itself once it is done.
  const memory = new RunMemory();
  const keepLastRun = (known: LastRun) => memory.keep(known);
  const look = async () => {
    const last = memory.lastRun;
    if (!last || !table) return undefined;
    const found = await denialsBetweenRuns(last, config, lookDeps, table);
    memory.looked(found.newcomers);
    return found;
  };
  // A look reads the tables every few seconds: only its warnings are logged.
  const lookDeps = { connect: watchConnection(config, scrubber), logger: logger.child({ watch: "denials" }, { level: "warn" }), now: io.now };
  const daemon = await startDaemon({
    schedule: config.schedule,
    periodMs: config.schedulePeriodMs,
    listen,
    jitterMs: options.jitter * 1000,
    logger,
    scrubber,
    now: io.now,
    runSync: async (signal, reason) => {
      const trigger = TRIGGERS[reason];
      const result = await runOnce(config, deps, { dryRun: false, signal, keepLastRun, ...(trigger ? { trigger } : {}) });
      logRunSummary(logger, shownRun(result, { detailedExitcode: false }));
      return result;
    },
    ...(watch ? { watch } : {}),
    ...(table && config.watchIntervalMs > 0 ? { denialWatch: { intervalMs: config.watchIntervalMs, look } } : {}),
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
