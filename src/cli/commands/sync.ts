import type { Logger } from "pino";
import { currentActor } from "../../audit/actor.js";
import type { AuditContext } from "../../audit/body.js";
import { canonicalJson, sha256 } from "../../util/canonical.js";
import { AuditTrail } from "../../audit/trail.js";
import { acquireRunLock, RUN_LOCK_WAIT_MS } from "../../reconcile/run-lock.js";
import { redactConfig } from "../../config/redact.js";
import type { Config, ConfigFile } from "../../config/schema.js";
import type { RunResult } from "../../model/result.js";
import { renderRunText, type SavedPlan } from "../render/run.js";
import type { RunDeps } from "../../reconcile/deps.js";
import { runOnce } from "../../reconcile/run.js";
import { UsageError } from "../../errors.js";
import { planFromDryRun } from "../../model/reviewed-plan.js";
import { readPlan, writePlan } from "../plan-file.js";
import { stateDirOf } from "../../config/paths.js";
import { alertStore } from "../../state/alert-store.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { planDeps } from "../plan-deps.js";
import { stderrProgress } from "../progress.js";
import { packageVersion } from "../version.js";
import { holderText, type LockHolder } from "../../util/lock.js";

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

/** The config's identity is the file as validated: values derived from it (a schedule's period, counted from now) are not part of it. */
function auditContext(file: ConfigFile, env: Io["env"], scheduled: boolean): AuditContext {
  return {
    actor: currentActor(env, scheduled),
    toolVersion: packageVersion(),
    configDigest: sha256(canonicalJson(redactConfig(file))),
  };
}

/** Said at once, so a sync queued behind another one is not mistaken for a hung one. */
function waitingForLock(logger: Logger, waitMs: number): (holder: LockHolder) => void {
  return (holder) => {
    const since = holder.since === null ? "" : ` since ${new Date(holder.since).toISOString()}`;
    logger.warn(
      { lockHolder: holder, lockTimeoutMs: waitMs },
      `waiting up to ${Math.ceil(waitMs / 1000)} s (--lock-timeout) for another sync: the run lock is held by ${holderText(holder)}${since}`,
    );
  };
}

/** The real adapters for `sync` and `daemon`. */
export async function buildRunDeps(
  config: Config,
  file: ConfigFile,
  logger: Logger,
  env: Io["env"],
  scheduled: boolean,
  narrow: { instances?: string[] | undefined; lockTimeoutMs?: number } = {},
): Promise<RunDeps> {
  const sinks = config.alerts.sinks;
  // undici's alert client is loaded only when there is somewhere to send alerts.
  const notifier = sinks.length > 0 ? (await import("../../alert/notifier.js")).createNotifier(sinks) : undefined;
  const progress = scheduled ? undefined : stderrProgress();
  return {
    ...planDeps(config, logger, narrow.instances),
    audit: { trail: new AuditTrail(config.audit.path, { key: config.audit.key }), context: auditContext(file, env, scheduled) },
    runLock: () => {
      const waitMs = narrow.lockTimeoutMs ?? RUN_LOCK_WAIT_MS;
      return acquireRunLock(config, waitMs, waitingForLock(logger, waitMs));
    },
    ...(notifier ? { notifier, alertState: alertStore(stateDirOf(config)) } : {}),
    ...(progress ? { progress } : {}),
  };
}

/** One-shot metrics: a Pushgateway push-add and/or an atomically written textfile. */
async function exportMetrics(config: Config, result: RunResult, logger: Logger): Promise<void> {
  const { pushgateway, textfile } = config.metrics ?? {};
  if (result.dryRun || (!pushgateway && !textfile)) return;
  const [{ createMetrics }, { pushMetrics, writeTextfile }] = await Promise.all([import("../../metrics/metrics.js"), import("../../metrics/export.js")]);
  const metrics = createMetrics({ oneShot: true });
  metrics.observe(result, new Date());
  const text = await metrics.text();
  const exports: Array<Promise<void>> = [];
  // The push ends with the run's own deadline, within its usual 5 s.
  const left = Date.parse(result.startedAt) + config.runTimeoutMs - Date.now();
  if (pushgateway) exports.push(pushMetrics(pushgateway, text, Math.max(1, Math.min(5000, left))));
  if (textfile) exports.push(writeTextfile(textfile, text));
  for (const outcome of await Promise.allSettled(exports)) {
    if (outcome.status === "rejected") logger.error({ err: outcome.reason as Error }, "metrics could not be exported");
  }
}

export async function syncCommand(global: GlobalOptions, options: SyncCliOptions, io: Io): Promise<number> {
  const { config, file, logger } = await loadContext(global, io);
  const { grace, instance, lockTimeout, planOut, plan, ...rest } = options;
  if (planOut !== undefined && !rest.dryRun) throw new UsageError("--plan-out saves a dry run's plan: add --dry-run");
  if (plan !== undefined && (rest.dryRun || rest.force)) throw new UsageError("--plan applies a reviewed plan: not with --dry-run or --force");
  const reviewed = plan === undefined ? undefined : await readPlan(plan);
  // A plan made for some instances applies to those: --instance is not needed again.
  const instances = instance ?? reviewed?.plan.instances.map((i) => i.target);
  const deps = await buildRunDeps(config, file, logger, io.env, false, { instances, lockTimeoutMs: lockTimeout * 1000 });
  const result = await runOnce(config, deps, { ...rest, noGrace: !grace, ...(reviewed ? { reviewed } : {}) });
  let savedPlan: SavedPlan | undefined;
  if (planOut !== undefined && result.error === null) {
    savedPlan = { path: planOut, digest: await writePlan(planOut, planFromDryRun(result, deps.audit.context.configDigest, new Date())) };
    logger.info({ planOut, digest: savedPlan.digest }, `plan saved to ${planOut} (${savedPlan.digest})`);
  }
  await exportMetrics(config, result, logger);
  const json = () => `${JSON.stringify(savedPlan ? { ...result, savedPlan } : result, null, 2)}\n`;
  await io.stdout(global.output === "json" ? json() : renderRunText(result, savedPlan));
  return result.exitCode;
}
