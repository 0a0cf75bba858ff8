import { readFile } from "node:fs/promises";
import { z } from "zod";
import { AllowlistError } from "../errors.js";
import type { ReviewedPlan } from "../model/reviewed-plan.js";
import { writeFileAtomic } from "../util/atomic.js";
import { canonicalJson, sha256 } from "../util/canonical.js";

const planSchema = z.strictObject({
  version: z.literal(1),
  createdAt: z.string(),
  configDigest: z.string(),
  desired: z.strictObject({ count: z.number(), digest: z.string().nullable() }),
  held: z.string().nullable(),
  instances: z.array(z.strictObject({ target: z.string(), liveDigest: z.string().nullable(), add: z.array(z.string()), remove: z.array(z.string()) })),
}) satisfies z.ZodType<ReviewedPlan>;

/** Writes a plan for review: readable JSON, atomically. */
export async function writePlan(path: string, plan: ReviewedPlan): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(plan, null, 2)}\n`, { mode: 0o644 });
}

/** A plan written by `--plan-out`, and its digest (what the audit trail records as applied). */
export async function readPlan(path: string): Promise<{ plan: ReviewedPlan; digest: string }> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new AllowlistError("E_PLAN_INVALID", `--plan ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : "not JSON"}`, {
      cause: err,
    });
  }
  const parsed = planSchema.safeParse(json);
  if (!parsed.success) throw new AllowlistError("E_PLAN_INVALID", `--plan ${path}: not a plan written by sync --dry-run --plan-out`);
  return { plan: parsed.data, digest: sha256(canonicalJson(parsed.data)) };
}
