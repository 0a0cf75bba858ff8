import { type Left, leftAs } from "../model/left-state.js";
import type { Logger } from "pino";
import { AllowlistError, errorCode } from "../errors.js";
import { whatMoved } from "../model/reviewed-plan.js";
import { type GraceDecision, settleState } from "../plan/grace.js";
import type { Applier } from "./applier.js";
import type { AuditRecorder } from "./audit-recorder.js";
import type { RemovalStateStore, RunOptions } from "./deps.js";
import { type InstanceRun, isChanging, withUpdated } from "./instance-run.js";
import { type PlannedRun, shownResult } from "./plan-run.js";
import type { Execution } from "./reconciled.js";
import { failedResult, message } from "./results.js";
import { stoppedBeforeChange } from "./run-timeout.js";
import type { Verifier } from "./verifier.js";

/** Everything a run writes through, built once from its deps: nothing else in a run writes. */
export interface Effects {
  applier: Applier;
  verifier: Verifier;
  recorder: Pick<AuditRecorder, "intent">;
  removalState: Pick<RemovalStateStore, "save">;
}

/** What executing needs to know beyond the plan. */
export interface ExecutionContext {
  log: Logger;
  now: () => Date;
  signal: AbortSignal | undefined;
  reviewed: RunOptions["reviewed"];
  /** The config the reviewed plan must still have been made with. */
  configDigest: string;
  /** Only these instances were read (`--instance`). */
  narrowedTo: ReadonlyArray<string> | undefined;
}

/**
 * The only writer of a run: intent, the instances, the exposure checks that
 * follow, and the removal state, in that order. A dry run never gets here.
 */
export async function execute(planned: PlannedRun, effects: Effects, context: ExecutionContext): Promise<Execution> {
  const runs = planned.instances.map((p) => ({ planned: p, result: p.result }));
  const { grace } = planned;
  if (planned.error || !grace || !planned.state) return executionOf(runs, planned.error);
  const refusal = refusalOf(planned, context);
  // A refused run writes nothing, not even the removal state: a stopped one may already have been reported as abandoned.
  if (refusal) return stopBefore(runs, runs, refusal.error, refusal.left);
  // Nothing is applied under a hold, but who gets in is still worth saying: a hold must not hide an exposure.
  if (planned.held) return executionOf(await effects.verifier.verify(planned, runs), null);
  const changing = runs.filter(isChanging);
  let changed: InstanceRun[] = runs;
  if (changing.length > 0) {
    const notRecorded = await recordIntent(planned, runs, changing, effects, context.log);
    if (notRecorded) return notRecorded;
    const desired = (planned.desiredSet?.entries ?? []).map((e) => e.cidr.text);
    changed = withUpdated(runs, await effects.applier.applyAll(changing, { desired, pending: grace.pending }));
  }
  const verified = await effects.verifier.verify(planned, changed);
  await saveRemovalState(planned, grace, verified, effects, context);
  return executionOf(verified, null);
}

function executionOf(runs: ReadonlyArray<InstanceRun>, error: Execution["error"]): Execution {
  return { instances: runs.map((r) => shownResult(r.planned, r.result)), error };
}

/** The instances an error stopped before their first change, each left unchanged. */
function stopBefore(runs: ReadonlyArray<InstanceRun>, stopping: ReadonlyArray<InstanceRun>, err: unknown, left: Left, errorMessage = message(err)): Execution {
  const stopped = stopping.map((r) => ({ planned: r.planned, result: failedResult(r.planned.target, err, left, r.result) }));
  return executionOf(withUpdated(runs, stopped), { code: errorCode(err), message: errorMessage });
}

/** Why a run that could write must not: its reviewed plan went stale, or it was stopped before its first change. */
function refusalOf(planned: PlannedRun, context: ExecutionContext): { error: AllowlistError; left: Left } | null {
  const { reviewed } = context;
  if (reviewed) {
    const instances = planned.instances.map((p) => p.result);
    const moved = whatMoved(reviewed.plan, { configDigest: context.configDigest, desired: planned.desired, instances });
    if (moved.length > 0) {
      const stale = new AllowlistError("E_PLAN_STALE", `the reviewed plan of ${reviewed.plan.createdAt} is stale, nothing applied: ${moved.join("; ")}`);
      context.log.error({ err: stale }, "the reviewed plan is stale");
      return { error: stale, left: leftAs("unchanged", "unchanged (the reviewed plan is stale)") };
    }
  }
  if (context.signal?.aborted) return { error: stoppedBeforeChange(), left: leftAs("unchanged", "unchanged (stopped before any change)") };
  return null;
}

/** No change without a record: the intent is written before the first write to any instance, or nothing is applied. */
async function recordIntent(
  planned: PlannedRun,
  runs: ReadonlyArray<InstanceRun>,
  changing: ReadonlyArray<InstanceRun>,
  effects: Effects,
  log: Logger,
): Promise<Execution | null> {
  const { desired, sources, held, error, stateNotice } = planned;
  try {
    await effects.recorder.intent({ desired, sources, instances: executionOf(runs, null).instances, held, error, stateNotice });
    return null;
  } catch (err) {
    log.error({ err }, "the audit trail cannot be written; nothing will be applied");
    const left = leftAs("unchanged", "unchanged (the audit trail could not be written, so nothing was applied)");
    return stopBefore(runs, changing, err, left, `audit trail failed, nothing applied: ${message(err)}`);
  }
}

/** What the grace period remembers for the next run: what this one removed, and where it converged. */
async function saveRemovalState(
  planned: PlannedRun,
  grace: GraceDecision,
  runs: ReadonlyArray<InstanceRun>,
  effects: Effects,
  context: ExecutionContext,
): Promise<void> {
  const results = runs.map((r) => r.result);
  const next = settleState(grace.nextState, {
    removed: results.filter((r) => r.status === "applied").flatMap((r) => r.remove),
    converged: results.filter((r) => r.status === "applied" || r.status === "in-sync").map((r) => r.target),
    now: context.now(),
    processes: new Map(planned.instances.map((p) => [p.target, p.kind === "unreached" ? undefined : p.instance.process])),
    ...(context.narrowedTo ? { narrowedTo: context.narrowedTo } : {}),
  });
  await effects.removalState
    .save(next)
    .catch((err: unknown) => context.log.error({ err }, "the removal state could not be saved; absent entries start their grace period again next run"));
}
