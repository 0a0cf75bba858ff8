import type { Logger } from "pino";
import type { Config } from "../../config/schema.js";
import type { RunResult } from "../../model/result.js";
import type { Scrubber } from "../../util/secrets.js";
import { renderRunText, type SavedPlan, shownRun } from "../render/run.js";
import { logRunSummary } from "../run-summary.js";
import { runOnce } from "../../reconcile/run.js";
import { UsageError } from "../../errors.js";
import { planFromDryRun } from "../../model/reviewed-plan.js";
import { AuditTrail } from "../../audit/trail.js";
import { readPlan, refuseSpentPlan, writePlan } from "../plan-file.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { runDeps } from "../wiring.js";

export interface SyncCliOptions {
  dryRun: boolean;
  detailedExitcode: boolean;
  force: boolean;
  /** commander's negation of --no-grace. */
  grace: boolean;
  instance?: string[];
  /** Seconds to wait for another sync on this host. */
  lockTimeout: number;
  planOut?: string;
  plan?: string;
}

/** One-shot metrics: a Pushgateway push-add and/or an atomically written textfile. */
async function exportMetrics(config: Config, result: RunResult, logger: Logger, scrubber: Scrubber, now: Date): Promise<void> {
  const { pushgateway, textfile } = config.metrics ?? {};
  if (result.dryRun || (!pushgateway && !textfile)) return;
  const [{ createMetrics }, { pushMetrics, writeTextfile }] = await Promise.all([import("../../metrics/metrics.js"), import("../../metrics/export.js")]);
  const metrics = createMetrics({ oneShot: true, scrubber });
  metrics.observe(result, now);
  const text = await metrics.text();
  const exports: Array<Promise<void>> = [];
  // The push ends with the run's own deadline, within its usual 5 s.
  const left = Date.parse(result.startedAt) + config.runTimeoutMs - Date.now();
  if (pushgateway) exports.push(pushMetrics(pushgateway, text, Math.max(1, Math.min(5000, left)), { scrubber }));
  if (textfile) exports.push(writeTextfile(textfile, text));
  for (const outcome of await Promise.allSettled(exports)) {
    if (outcome.status === "rejected") logger.error({ err: outcome.reason }, "metrics could not be exported");
  }
}

export async function syncCommand(global: GlobalOptions, options: SyncCliOptions, io: Io): Promise<number> {
  const { config, file, logger, scrubber } = await loadContext(global, io);
  const { grace, instance, lockTimeout, planOut, plan, detailedExitcode, ...rest } = options;
  if (planOut !== undefined && !rest.dryRun) throw new UsageError("--plan-out saves a dry run's plan: add --dry-run");
  if (plan !== undefined && (rest.dryRun || rest.force)) throw new UsageError("--plan applies a reviewed plan: not with --dry-run or --force");
  const reviewed = plan === undefined ? undefined : await readPlan(plan);
  if (plan !== undefined && reviewed) {
    await refuseSpentPlan(plan, reviewed, { now: io.now(), maxAgeMs: config.planMaxAgeMs, uses: new AuditTrail(config.audit.path) });
  }
  // A plan made for some instances applies to those: --instance is not needed again.
  const instances = instance ?? reviewed?.plan.instances.map((i) => i.target);
  const deps = { ...(await runDeps(config, file, logger, scrubber, io.env, false, { instances, lockTimeoutMs: lockTimeout * 1000 })), now: io.now };
  const result = shownRun(await runOnce(config, deps, { ...rest, noGrace: !grace, ...(reviewed ? { reviewed } : {}) }), { detailedExitcode });
  logRunSummary(logger, result);
  let savedPlan: SavedPlan | undefined;
  if (planOut !== undefined && result.error === null) {
    savedPlan = { path: planOut, digest: await writePlan(planOut, planFromDryRun(result, deps.audit.context.configDigest, io.now())) };
    logger.info({ planOut, digest: savedPlan.digest }, `plan saved to ${planOut} (${savedPlan.digest})`);
  }
  await exportMetrics(config, result, logger, scrubber, io.now());
  const json = () => `${JSON.stringify(savedPlan ? { ...result, savedPlan } : result, null, 2)}\n`;
  await io.stdout(global.output === "json" ? json() : renderRunText(result, savedPlan));
  return result.exitCode;
}
