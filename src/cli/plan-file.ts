import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { AuditRecord } from "../audit/record.js";
import { formatDuration } from "../config/duration.js";
import { AllowlistError } from "../errors.js";
import { PLAN_CLOCK_SKEW_MS, planAgeRefusal, type ReviewedPlan } from "../model/reviewed-plan.js";
import { writeFileAtomic } from "../util/atomic.js";
import { sha256 } from "../util/canonical.js";

const planSchema = z.strictObject({
  version: z.literal(1),
  createdAt: z.iso.datetime(),
  configDigest: z.string(),
  desired: z.strictObject({ count: z.number(), digest: z.string().nullable() }),
  held: z.string().nullable(),
  instances: z.array(z.strictObject({ target: z.string(), liveDigest: z.string().nullable(), add: z.array(z.string()), remove: z.array(z.string()) })),
}) satisfies z.ZodType<ReviewedPlan>;

/** Writes a plan for review: readable JSON, atomically; returns its digest (`sha256sum` of the file). */
export async function writePlan(path: string, plan: ReviewedPlan): Promise<string> {
  const text = `${JSON.stringify(plan, null, 2)}\n`;
  await writeFileAtomic(path, text, { mode: 0o644 });
  return sha256(text);
}

/** A plan written by `--plan-out`, and its digest (what the audit trail records as applied). */
export async function readPlan(path: string): Promise<{ plan: ReviewedPlan; digest: string }> {
  let json: unknown;
  let text: string;
  try {
    text = await readFile(path, "utf8");
    json = JSON.parse(text);
  } catch (err) {
    throw new AllowlistError("E_PLAN_INVALID", `--plan ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : "not JSON"}`, {
      cause: err,
    });
  }
  const parsed = planSchema.safeParse(json);
  if (!parsed.success) throw new AllowlistError("E_PLAN_INVALID", `--plan ${path}: not a plan written by sync --dry-run --plan-out`);
  // The file's own digest, so `sha256sum FILE` matches what the audit trail records.
  return { plan: parsed.data, digest: sha256(text) };
}

/** Where a plan's single use is looked up: the audit trail. */
export interface PlanUses {
  reviewedPlanUse(digest: string): Promise<AuditRecord | undefined>;
}

/** Whole seconds: an age is read by a person. */
const shown = (ms: number) => formatDuration(Math.round(ms / 1000) * 1000);

/**
 * Refuses a reviewed plan that may no longer be applied, before any instance
 * is read: one older than planMaxAge or dated ahead of this host, and one the
 * audit trail records as used. A plan reviewed once approves one change, once:
 * applied again after the live list went back, it would repeat a change
 * nobody reviewed for that moment.
 */
export async function refuseSpentPlan(
  path: string,
  reviewed: { plan: ReviewedPlan; digest: string },
  context: { now: Date; maxAgeMs: number; uses: PlanUses },
): Promise<void> {
  const { plan, digest } = reviewed;
  const refusal = planAgeRefusal(new Date(plan.createdAt), context.now, context.maxAgeMs);
  const nothing = "nothing was applied: make and review a new plan (sync --dry-run --plan-out FILE)";
  if (refusal?.kind === "expired") {
    const age = `${shown(refusal.ageMs)} ago, longer than planMaxAge (${formatDuration(context.maxAgeMs)})`;
    throw new AllowlistError("E_PLAN_STALE", `--plan ${path}: the plan is too old: made at ${plan.createdAt}, ${age}; ${nothing}`);
  }
  if (refusal?.kind === "future") {
    const ahead = `${shown(refusal.aheadMs)} ahead of this host's clock (${context.now.toISOString()}), more than the ${formatDuration(PLAN_CLOCK_SKEW_MS)} of skew allowed`;
    throw new AllowlistError(
      "E_PLAN_STALE",
      `--plan ${path}: the plan is dated in the future: made at ${plan.createdAt}, ${ahead}; check both clocks, ${nothing}`,
    );
  }
  const used = await context.uses.reviewedPlanUse(digest);
  if (used) {
    const by = `by run ${used.runId} at ${used.time} (audit record #${used.seq}, ${used.event})`;
    throw new AllowlistError("E_PLAN_STALE", `--plan ${path}: the plan ${digest} was already applied ${by}; a reviewed plan is applied once, ${nothing}`);
  }
}
