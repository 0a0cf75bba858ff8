import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { type RunResult, runOutcomeOf } from "../model/result.js";
import { clockOf, type RunDeps, type RunOptions } from "./deps.js";
import type { Reconciled } from "./reconciled.js";

/** What every part of one run shares: its id, its log, its clock and how it was asked for. */
export interface RunFrame {
  runId: string;
  log: Logger;
  now: () => Date;
  startedAt: Date;
  forced: boolean;
  noGrace: boolean;
  reviewed: Pick<RunResult, "reviewedPlan">;
}

/** The run's result from what it found and did; its duration, alerts and audit head are added as they become known. */
export function resultOf(run: RunFrame, dryRun: boolean, reconciled: Reconciled): RunResult {
  const { runId, startedAt, forced, noGrace, reviewed } = run;
  const body = {
    version: 1 as const,
    runId,
    dryRun,
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    forced,
    noGrace,
    alerts: [],
    ...reviewed,
    ...reconciled,
  };
  return { ...body, outcome: runOutcomeOf(body) };
}

/** A run's identity, taken once at its start. */
export function frameOf(deps: RunDeps, options: RunOptions): RunFrame {
  const now = clockOf(deps);
  const startedAt = now();
  const runId = (deps.newRunId ?? randomUUID)();
  const { reviewed } = options;
  return {
    runId,
    log: deps.logger.child({ runId }),
    now,
    startedAt,
    forced: options.force ?? false,
    noGrace: options.noGrace ?? false,
    reviewed: reviewed ? { reviewedPlan: { digest: reviewed.digest, createdAt: reviewed.plan.createdAt } } : {},
  };
}
