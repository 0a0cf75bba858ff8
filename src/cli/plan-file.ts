import { readFile } from "node:fs/promises";
import { z } from "zod";
import { AllowlistError } from "../errors.js";
import type { ReviewedPlan } from "../model/reviewed-plan.js";
import { writeFileAtomic } from "../util/atomic.js";
import { sha256 } from "../util/canonical.js";

const planSchema = z.strictObject({
  version: z.literal(1),
  createdAt: z.string(),
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
