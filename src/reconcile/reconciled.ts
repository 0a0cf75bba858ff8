import type { ErrorSummary, InstanceResult, RunResult } from "../model/result.js";
import { type PlannedRun, shownResult } from "./plan-run.js";

/** What a run found and did, before it is timed, recorded and alerted on. */
export type Reconciled = Pick<RunResult, "desired" | "sources" | "instances" | "held" | "error" | "overridden" | "unexpected" | "flaps" | "stateNotice">;

/** What executing a planned run made of it: each instance's result as shown, and what stopped the run, if anything did. */
export interface Execution {
  instances: InstanceResult[];
  error: ErrorSummary | null;
}

/** A planned run as it stands when nothing was executed (a dry run, or nothing to do). */
export function notExecuted(planned: PlannedRun): Execution {
  return { instances: planned.instances.map((p) => shownResult(p)), error: planned.error };
}

/** The planned run with what its execution made of it. */
export function reconciledOf(planned: PlannedRun, execution: Execution = notExecuted(planned)): Reconciled {
  return {
    desired: planned.desired,
    sources: planned.sources,
    instances: execution.instances,
    held: planned.held,
    error: execution.error,
    overridden: planned.overridden,
    unexpected: planned.unexpected,
    flaps: planned.flaps,
    stateNotice: planned.stateNotice,
  };
}

/** The outcome of a run that stopped before it knew anything (no lock, out of time). */
export function stopped(error: Reconciled["error"], instances: Reconciled["instances"]): Reconciled {
  return { desired: { count: 0, digest: null }, sources: [], instances, held: null, overridden: [], unexpected: [], flaps: {}, stateNotice: null, error };
}
