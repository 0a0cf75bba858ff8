import { leftAs } from "../model/left-state.js";
import { AllowlistError } from "../errors.js";
import type { LiveList } from "../haproxy/runtime.js";
import type { InstanceResult } from "../model/result.js";
import type { InstancePlan } from "../plan/plan.js";
import type { RuntimeTarget } from "./deps.js";
import { failedResult } from "./results.js";

/** An instance that was read: its connection, open until `closePlannedRun`, and what it holds. */
interface ReadInstance {
  readonly target: string;
  readonly instance: RuntimeTarget;
  readonly live: LiveList;
  readonly result: InstanceResult;
  /** About the instance itself (an unauthenticated runtime API), whatever becomes of its result. */
  readonly warnings?: string[];
}

/**
 * One instance as planned, built once: `unreached` (not contacted, or not
 * read), `read` (nothing planned: the desired set is unknown), `planned` (its
 * plan, in sync or with changes), `held` (its plan, held by a guard), or
 * `failed` (read, then failed; its connection stays open until the run closes).
 */
export type PlannedInstance =
  | { readonly kind: "unreached"; readonly target: string; readonly result: InstanceResult }
  | (ReadInstance & { readonly kind: "read" })
  | (ReadInstance & { readonly kind: "failed" })
  | (ReadInstance & { readonly kind: "planned"; readonly plan: InstancePlan })
  | (ReadInstance & { readonly kind: "held"; readonly plan: InstancePlan });

export type ReachedInstance = Exclude<PlannedInstance, { kind: "unreached" }>;
export type InstanceWithPlan = Extract<PlannedInstance, { plan: InstancePlan }>;

/** An instance's result (its planned one, or what the run made of it) with its warnings, as every view shows it. */
export function shownResult(p: PlannedInstance, result: InstanceResult = p.result): InstanceResult {
  return p.kind !== "unreached" && p.warnings ? { ...result, warnings: p.warnings } : result;
}

/** A read instance that failed afterwards (its matcher, the removal state): nothing was written to it. */
export function failedAfterRead(p: ReachedInstance, err: unknown): ReachedInstance {
  return {
    ...p,
    kind: "failed",
    result: failedResult(p.target, err, leftAs("unchanged", "unchanged (nothing was written)"), { haproxyVersion: p.instance.version }),
  };
}

/** Instances the run stopped before contacting, each failed with the reason. */
export function notContacted(targets: string[], reason: string): PlannedInstance[] {
  return targets.map((target) => ({
    kind: "unreached",
    target,
    result: failedResult(target, new AllowlistError("E_NOT_CONTACTED", `not contacted: ${reason}`), leftAs("unchanged", "unchanged (not contacted)")),
  }));
}
