import type { Logger } from "pino";
import type { ShownRun } from "./render/run.js";

/** One line per run for a log store: what changed where, how the run ended, and the audit head to check the trail against (`audit verify --anchor`). */
export function logRunSummary(logger: Logger, run: ShownRun): void {
  const applied = run.instances.filter((i) => i.status === "applied");
  logger.info(
    {
      event: "run-summary",
      runId: run.runId,
      dryRun: run.dryRun,
      forced: run.forced,
      desired: run.desired.count,
      added: applied.reduce((n, i) => n + i.add.length, 0),
      removed: applied.reduce((n, i) => n + i.remove.length, 0),
      held: run.held?.guard ?? null,
      instances: Object.fromEntries(run.instances.map((i) => [i.target, i.status])),
      durationMs: run.durationMs,
      outcome: run.outcome,
      exitCode: run.exitCode,
      auditHead: run.auditHead ?? null,
    },
    "run finished",
  );
}
