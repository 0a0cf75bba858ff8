import type { DesiredSummary, RunResult } from "./result.js";

/**
 * A dry run's plan, saved for review (`sync --dry-run --plan-out FILE`) and
 * applied as it was reviewed (`sync --plan FILE`): what it would add and
 * remove on which instance, from which desired set and which live lists.
 */
export interface ReviewedPlan {
  version: 1;
  createdAt: string;
  configDigest: string;
  desired: DesiredSummary;
  /** The guard that held the dry run, if one did: applying the plan is the person's approval. */
  held: string | null;
  instances: Array<{ target: string; liveDigest: string | null; add: string[]; remove: string[] }>;
}

export function planFromDryRun(result: RunResult, configDigest: string, now: Date): ReviewedPlan {
  return {
    version: 1,
    createdAt: now.toISOString(),
    configDigest,
    desired: result.desired,
    held: result.held?.guard ?? null,
    instances: result.instances.map((i) => ({ target: i.target, liveDigest: i.liveDigest ?? null, add: i.add, remove: i.remove })),
  };
}

const same = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");

/**
 * What moved since the plan was made, in words; empty when the run now plans
 * exactly what was reviewed. Pure.
 */
export function whatMoved(plan: ReviewedPlan, now: { configDigest: string; desired: { digest: string | null }; instances: RunResult["instances"] }): string[] {
  const moved: string[] = [];
  if (plan.configDigest !== now.configDigest) moved.push("the config changed");
  if (plan.desired.digest !== now.desired.digest) moved.push(`the desired set changed (${plan.desired.digest ?? "none"} → ${now.desired.digest ?? "none"})`);
  const current = new Map(now.instances.map((i) => [i.target, i]));
  for (const reviewed of plan.instances) {
    const live = current.get(reviewed.target);
    if (!live) moved.push(`${reviewed.target} is not part of this run`);
    else if (live.status === "failed") moved.push(`${reviewed.target} could not be read: ${live.error ?? "unknown error"}`);
    else if (reviewed.liveDigest !== (live.liveDigest ?? null)) moved.push(`${reviewed.target}: its live list changed`);
    else if (!same(reviewed.add, live.add) || !same(reviewed.remove, live.remove)) moved.push(`${reviewed.target}: the change differs from the reviewed one`);
  }
  for (const target of current.keys()) if (!plan.instances.some((i) => i.target === target)) moved.push(`${target} was not in the reviewed plan`);
  return moved;
}

/** How far a plan's createdAt may be ahead of this host's clock: the clocks of two hosts differ a little. */
export const PLAN_CLOCK_SKEW_MS = 5 * 60_000;

/** Why a plan's age refuses it: older than planMaxAge, or made "later" than now by more than clock skew explains. */
export type PlanAgeRefusal = { kind: "expired"; ageMs: number } | { kind: "future"; aheadMs: number };

/** Whether a plan made at `createdAt` may still be applied at `now`; null when it may. Pure. */
export function planAgeRefusal(createdAt: Date, now: Date, maxAgeMs: number): PlanAgeRefusal | null {
  const ageMs = now.getTime() - createdAt.getTime();
  if (ageMs > maxAgeMs) return { kind: "expired", ageMs };
  if (-ageMs > PLAN_CLOCK_SKEW_MS) return { kind: "future", aheadMs: -ageMs };
  return null;
}
