import { type Left, leftAs } from "../model/left-state.js";
import { errorCode, HaproxyError } from "../errors.js";
import { UnsafeTextError } from "../haproxy/protocol.js";
import type { InstanceResult } from "../model/result.js";
import { hasChanges, type InstancePlan } from "../plan/plan.js";

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function baseResult(target: string): InstanceResult {
  return { target, status: "failed", add: [], remove: [], pendingRemoval: [], error: null };
}

export function failedResult(target: string, err: unknown, left: Left, extra: Partial<InstanceResult> = {}): InstanceResult {
  return { ...baseResult(target), ...extra, status: "failed", error: message(err), errorCode: errorCode(err), state: left.words, left: left.state };
}

export function plannedResult(target: string, version: string, plan: InstancePlan, pending: ReadonlyMap<string, string> = new Map()): InstanceResult {
  return {
    ...baseResult(target),
    status: hasChanges(plan) ? "planned" : "in-sync",
    add: plan.add,
    remove: plan.remove,
    pendingRemoval: plan.kept.map((entry) => ({ entry, removeAt: pending.get(entry) ?? "" })),
    haproxyVersion: version,
    ownedCount: plan.ownedCount,
    foreignCount: plan.foreignCount,
    ...(plan.rewrite.length > 0 || plan.supersede.length > 0 ? { rewrite: plan.rewrite, superseded: plan.supersede.length } : {}),
  };
}

/** Where a failed apply left the instance, in words an operator can act on. */
export function stateAfterFailure(err: unknown): Left {
  if (err instanceof HaproxyError && err.liveState === "unchanged") return leftAs("unchanged", "unchanged (not committed)");
  if (err instanceof UnsafeTextError) return leftAs("unchanged", "unchanged (nothing was sent)");
  return leftAs("unknown", "unknown: the connection was lost during the change; run `travis-allowlist status` to see the live entries");
}
