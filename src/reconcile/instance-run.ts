import type { InstanceResult } from "../model/result.js";
import type { InstanceWithPlan, PlannedInstance } from "./plan-run.js";

/** One instance in a run: as planned, and what the run has made of it so far. */
export interface InstanceRun {
  readonly planned: PlannedInstance;
  readonly result: InstanceResult;
}

/** An instance with changes to apply. */
export interface ChangingRun extends InstanceRun {
  readonly planned: Extract<InstanceWithPlan, { kind: "planned" }>;
}

/** An instance whose plan stands (applied, in sync or held): HAProxy's matcher is asked about it. */
export interface CheckedRun extends InstanceRun {
  readonly planned: InstanceWithPlan;
}

export function isChanging(r: InstanceRun): r is ChangingRun {
  return r.planned.kind === "planned" && r.result.status === "planned";
}

export function isChecked(r: InstanceRun): r is CheckedRun {
  return (r.planned.kind === "planned" || r.planned.kind === "held") && ["applied", "in-sync", "held"].includes(r.result.status);
}

/** The runs, each replaced by its updated run where there is one. */
export function withUpdated(runs: ReadonlyArray<InstanceRun>, updated: ReadonlyArray<InstanceRun>): InstanceRun[] {
  const byInstance = new Map(updated.map((u) => [u.planned, u]));
  return runs.map((r) => byInstance.get(r.planned) ?? r);
}
