import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { errorCode } from "../errors.js";
import { type RunResult, runOutcomeOf } from "../model/result.js";
import { sendAlerts } from "./alerts.js";
import { runtimeApplier } from "./applier.js";
import { type AuditRecorder, openAuditRecorder } from "./audit-recorder.js";
import type { RunDeps, RunOptions } from "./deps.js";
import { type Effects, execute } from "./execute.js";
import { closePlannedRun, planRun } from "./plan-run.js";
import { type Reconciled, reconciledOf, stopped } from "./reconciled.js";
import { frameOf, resultOf, type RunFrame } from "./run-frame.js";
import { message } from "./results.js";
import { withinRunTimeout } from "./run-timeout.js";
import { matcherVerifier } from "./verifier.js";
import { denialsAfterRun } from "./run-denials.js";
import type { RunDenials } from "../model/denials.js";

export type { AuditWriter, RunDeps, RunOptions, RuntimeTarget } from "./deps.js";

/** What a real run writes with; a dry run has none, so it takes no lock, executes nothing and records nothing. */
interface Writer {
  recorder: AuditRecorder;
  effects: Effects;
  /** Set once the run is done, from its own connections: who the tables show as turned away (with `haproxy.denials`). */
  denied?: RunDenials;
}

/**
 * One reconciliation: plan (sources, instances, guards), then, unless this is
 * a dry run, execute the plan (intent, apply, read back, removal state), then
 * the outcome (recorded, alerted on).
 * Dry-run is decided here and nowhere else.
 */
export async function runOnce(config: Config, deps: RunDeps, options: RunOptions): Promise<RunResult> {
  const run = frameOf(deps, options);
  if (run.forced) run.log.warn({ forced: true }, "forced run: threshold guards are set aside");
  const writer = options.dryRun ? null : await openWriter(config, deps, options, run);
  // Real time, whatever clock the records use.
  const deadline = Date.now() + config.runTimeoutMs;
  const stop = { signal: options.signal, abandonable: () => !writer?.recorder.changing() };
  const result = resultOf(
    run,
    options.dryRun,
    await withinRunTimeout(reconcile(config, { ...deps, runEndsAt: deadline }, options, run, writer), config, run.log, stop),
  );
  if (writer?.denied) result.denied = writer.denied;
  if (writer) await recordOutcome(writer.recorder, result, run.log);
  Object.assign(result, await sendAlerts(result, config, deps, run.log, run.now, deadline));
  result.durationMs = run.now().getTime() - run.startedAt.getTime();
  result.auditHead = writer?.recorder.head() ?? null;
  return result;
}

async function openWriter(config: Config, deps: RunDeps, options: RunOptions, run: RunFrame): Promise<Writer> {
  const { runId, forced, noGrace, now, log } = run;
  const recorder = await openAuditRecorder(deps, {
    runId,
    forced,
    noGrace,
    ...run.reviewed,
    trigger: options.trigger,
    heartbeatMs: config.audit.heartbeatMs,
    now,
    log,
  });
  const effects: Effects = {
    applier: runtimeApplier(config, { force: forced, log, progress: deps.progress }),
    verifier: matcherVerifier(config, log),
    recorder,
    removalState: deps.removalState,
  };
  return { recorder, effects };
}

/** A real run holds the host's run lock from reading the instances to the last commit; a dry run takes none. */
async function reconcile(config: Config, deps: RunDeps, options: RunOptions, run: RunFrame, writer: Writer | null): Promise<Reconciled> {
  const { log } = run;
  if (!writer || !deps.runLock) return planAndExecute(config, deps, options, run, writer);
  let release: () => Promise<void>;
  try {
    release = await deps.runLock();
  } catch (err) {
    log.error({ err }, "the run could not start: the run lock was not taken");
    return stopped({ code: errorCode(err), message: `not started: ${message(err)}` }, []);
  }
  try {
    return await planAndExecute(config, deps, options, run, writer);
  } finally {
    await release();
  }
}

async function planAndExecute(config: Config, deps: RunDeps, options: RunOptions, run: RunFrame, writer: Writer | null): Promise<Reconciled> {
  // A dry run shows who gets in now; a real run asks after its apply instead, once.
  // A reviewed plan's guards were reviewed with it: they do not hold it again.
  const planOptions = { force: run.forced || options.reviewed !== undefined, noGrace: run.noGrace, probeExposures: writer === null };
  const planned = await planRun(config, deps, planOptions, run.log);
  try {
    if (!writer) return reconciledOf(planned);
    const { log, now } = run;
    const context = { log, now, signal: options.signal, reviewed: options.reviewed, configDigest: deps.audit.context.configDigest, narrowedTo: deps.instances };
    const execution = await execute(planned, writer.effects, context);
    writer.denied = await denialsAfterRun(planned, execution, config, {
      runId: run.runId,
      startedAt: run.startedAt,
      now: now(),
      log,
      keep: options.keepLastRun,
    });
    return reconciledOf(planned, execution);
  } finally {
    await closePlannedRun(planned);
  }
}

/** A run whose outcome cannot be recorded has failed, whatever it did. */
async function recordOutcome(recorder: AuditRecorder, result: RunResult, log: Logger): Promise<void> {
  try {
    await recorder.outcome(result);
  } catch (err) {
    log.error({ err }, "the outcome could not be written to the audit trail");
    result.error ??= { code: errorCode(err), message: `audit trail failed: ${message(err)}` };
    result.outcome = runOutcomeOf(result);
  }
}
