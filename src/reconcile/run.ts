import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { auditBody, outcomeEvent } from "../audit/body.js";
import type { AuditBody } from "../audit/record.js";
import { formatDuration } from "../config/duration.js";
import { needsRecord } from "../audit/heartbeat.js";
import type { Config } from "../config/schema.js";
import { AllowlistError, errorCode, HaproxyError } from "../errors.js";
import { type InstanceResult, type RunResult, runOutcomeOf } from "../model/result.js";
import { settleState } from "../plan/grace.js";
import { findDuplicates } from "../plan/plan.js";
import { ownershipOf } from "./ownership.js";
import { sendAlerts } from "./alerts.js";
import { applyInstance } from "./apply.js";
import type { AuditWriter, RunDeps, RunOptions } from "./deps.js";
import { checkExposures, closePlannedRun, type InstanceWithPlan, type PlannedInstance, type PlannedRun, planRun, shownResult } from "./plan-run.js";
import { mapLimit } from "../util/map-limit.js";
import { whatMoved } from "../model/reviewed-plan.js";
import { failedResult, message } from "./results.js";

export type { AuditWriter, RunDeps, RunOptions, RuntimeTarget } from "./deps.js";

type Reconciled = Pick<RunResult, "desired" | "sources" | "instances" | "held" | "error" | "overridden" | "unexpected" | "flaps" | "stateNotice">;
type IntentWriter = (facts: Pick<RunResult, "sources" | "desired" | "instances" | "held" | "error" | "stateNotice">) => Promise<void>;

/**
 * One reconciliation: sources → desired set → every instance read and
 * planned → guards over all plans → intent recorded → apply (bounded pool) →
 * read back → outcome recorded → alerts. Dry-run is decided here and nowhere else.
 */
export async function runOnce(config: Config, deps: RunDeps, options: RunOptions): Promise<RunResult> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const runId = (deps.newRunId ?? randomUUID)();
  const log = deps.logger.child({ runId });
  const { context } = deps.audit;
  const audited = options.trigger ? { ...context, actor: { ...context.actor, trigger: options.trigger } } : context;
  const force = options.force ?? false;
  if (force) log.warn({ forced: true }, "forced run: threshold guards are set aside");

  let auditHead: { seq: number; hash: string } | null = null;
  const record = async (body: AuditBody) => {
    // A record is sealed for good: secrets are taken out before, never after.
    const sealed = await deps.audit.trail.append(deps.scrubber.value(body));
    auditHead = { seq: sealed.seq, hash: sealed.hash };
    log.info({ audit: true, record: sealed }, `audit ${sealed.event} #${sealed.seq}`);
  };
  const unfinished = options.dryRun ? null : await findUnfinishedIntent(deps.audit.trail, log);
  const reviewed = options.reviewed ? { reviewedPlan: { digest: options.reviewed.digest, createdAt: options.reviewed.plan.createdAt } } : {};
  /** The next record carries how many identical in-sync runs went unrecorded before it. */
  const recordCounted = async (body: AuditBody, last: Awaited<ReturnType<AuditWriter["last"]>>) => {
    const quiet = last && deps.audit.trail.quietRuns ? await deps.audit.trail.quietRuns(last.seq) : 0;
    await record(quiet > 0 ? { ...body, quietRuns: quiet } : body);
  };
  /** A no-op run like the last recorded one is counted, not recorded, until the heartbeat is due. */
  const recordOutcome = async (body: AuditBody) => {
    const trail = deps.audit.trail;
    // An unreadable trail is reported by the append that follows, with its own code.
    const last = await trail.last().catch(() => undefined);
    if (last && !unfinished && !needsRecord(deps.scrubber.value(body), last, config.audit.heartbeatMs) && trail.noteQuietRun) {
      const count = await trail.noteQuietRun(last.seq);
      auditHead = { seq: last.seq, hash: last.hash };
      log.info(
        { audit: true, quietRuns: count, seq: last.seq },
        `in sync as recorded in #${last.seq}: counted, not recorded (audit.heartbeat ${formatDuration(config.audit.heartbeatMs)})`,
      );
      return;
    }
    await recordCounted(body, last);
  };
  let changing = false;
  const writeIntent: IntentWriter = async (facts) => {
    changing = true;
    const body = auditBody("intent", { ...facts, runId, forced: force, noGrace: options.noGrace ?? false, ...reviewed }, audited, now(), unfinished);
    await recordCounted(body, await deps.audit.trail.last().catch(() => undefined));
  };

  const { runTimeoutMs } = config;
  // Real time, whatever clock the records use.
  const deadline = Date.now() + runTimeoutMs;
  const work = lockedReconcile(config, deps, { ...options, force }, log, writeIntent);
  const reconciled = await withinRunTimeout(work, runTimeoutMs - reportingReserveMs(runTimeoutMs), config, log, {
    signal: options.signal,
    abandonable: () => !changing,
  });
  const body = {
    version: 1 as const,
    runId,
    dryRun: options.dryRun,
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    forced: force,
    noGrace: options.noGrace ?? false,
    alerts: [],
    ...reviewed,
    ...reconciled,
  };
  const result: RunResult = { ...body, outcome: runOutcomeOf(body) };

  if (!options.dryRun) {
    try {
      await recordOutcome(auditBody(outcomeEvent(result), result, audited, now(), unfinished));
    } catch (err) {
      log.error({ err }, "the outcome could not be written to the audit trail");
      result.error ??= { code: errorCode(err), message: `audit trail failed: ${message(err)}` };
      result.outcome = runOutcomeOf(result);
    }
  }
  Object.assign(result, await sendAlerts(result, config, deps, log, now, deadline));
  result.durationMs = now().getTime() - startedAt.getTime();

  result.auditHead = auditHead;
  return result;
}

/** The outcome of a run that stopped before it knew anything (no lock, out of time). */
function stopped(error: Reconciled["error"], instances: Reconciled["instances"]): Reconciled {
  return { desired: { count: 0, digest: null }, sources: [], instances, held: null, overridden: [], unexpected: [], flaps: {}, stateNotice: null, error };
}

/**
 * The end of `runTimeout` kept for reporting a run (alerts, metrics push):
 * a run that times out must still be able to say so, and still end in time.
 */
function reportingReserveMs(runTimeoutMs: number): number {
  return Math.min(10_000, Math.floor(runTimeoutMs / 5));
}

/**
 * Every run ends by `runTimeout`. The work left behind is bounded by its own
 * deadlines and each instance's change is one atomic commit, so an instance
 * holds its old or its complete new set; the next run finds the unfinished
 * intent in the trail and says so.
 *
 * A stop (shutdown) ends the run at once while it is still only reading: the
 * reads left behind see the stop before they could change anything. Once
 * changes have begun, the run is waited for, within `runTimeout`.
 */
async function withinRunTimeout(
  work: Promise<Reconciled>,
  timeoutMs: number,
  config: Config,
  log: Logger,
  stop: { signal: AbortSignal | undefined; abandonable: () => boolean },
): Promise<Reconciled> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stoppedEarly = new Promise<Reconciled>((resolve) => {
    onAbort = () => {
      if (!stop.abandonable()) return;
      const error = new AllowlistError("E_ABORTED", "the run was stopped (shutdown) before any change");
      log.warn("stopping: the run is abandoned before its first change");
      resolve(
        stopped(
          { code: error.code, message: error.message },
          config.haproxy.sockets.map((target) => failedResult(target, error, "unchanged (stopped before any change)")),
        ),
      );
    };
    if (stop.signal?.aborted) onAbort();
    else stop.signal?.addEventListener("abort", onAbort, { once: true });
  });
  const timedOut = new Promise<Reconciled>((resolve) => {
    timer = setTimeout(() => {
      const error = new AllowlistError(
        "E_RUN_TIMEOUT",
        `the run did not finish within runTimeout (${formatDuration(config.runTimeoutMs)}); each instance holds its old or its complete new set`,
      );
      log.error({ err: error }, "run timed out");
      resolve(
        stopped(
          { code: error.code, message: error.message },
          config.haproxy.sockets.map((target) => failedResult(target, error, "unknown: old or complete new set (each change is atomic); run status")),
        ),
      );
    }, timeoutMs);
  });
  // The abandoned work still finishes or fails on its own deadlines; nothing may await it, nothing may throw from it.
  // Work that fails before it is abandoned (bad usage found while reading) throws to the caller instead.
  let abandoned = false;
  work.catch((err: unknown) => {
    if (abandoned) log.error({ err }, "the abandoned run ended with an error");
  });
  try {
    return await Promise.race([work, timedOut, stoppedEarly]);
  } finally {
    abandoned = true;
    clearTimeout(timer);
    if (onAbort) stop.signal?.removeEventListener("abort", onAbort);
  }
}

/** A run killed between `intent` and its outcome leaves an intent last in the trail. */
async function findUnfinishedIntent(trail: AuditWriter, log: Logger): Promise<AuditBody["unfinishedIntent"]> {
  try {
    const last = await trail.last();
    if (last?.event !== "intent") return null;
    log.warn(
      { unfinishedRunId: last.runId, seq: last.seq },
      `run ${last.runId} recorded an intent at ${last.time} but no outcome (killed, crashed, or still running)`,
    );
    return { runId: last.runId, seq: last.seq, time: last.time };
  } catch (err) {
    // Reported again, and fatal, when the first record is written.
    log.error({ err }, "cannot read the audit trail");
    return null;
  }
}

/** A real run holds the host's run lock from reading the instances to the last commit; a dry run takes none. */
async function lockedReconcile(
  config: Config,
  deps: RunDeps,
  options: RunOptions & { force: boolean },
  log: Logger,
  writeIntent: IntentWriter,
): Promise<Reconciled> {
  if (options.dryRun || !deps.runLock) return reconcile(config, deps, options, log, writeIntent);
  let release: () => Promise<void>;
  try {
    release = await deps.runLock();
  } catch (err) {
    log.error({ err }, "the run could not start: the run lock was not taken");
    return stopped({ code: errorCode(err), message: `not started: ${message(err)}` }, []);
  }
  try {
    return await reconcile(config, deps, options, log, writeIntent);
  } finally {
    await release();
  }
}

async function reconcile(config: Config, deps: RunDeps, options: RunOptions & { force: boolean }, log: Logger, writeIntent: IntentWriter): Promise<Reconciled> {
  const noGrace = options.noGrace ?? false;
  // A dry run shows who gets in now; a real run asks after its apply instead, once.
  // A reviewed plan's guards were reviewed with it: they do not hold it again.
  const planned = await planRun(config, deps, { force: options.force || options.reviewed !== undefined, noGrace, probeExposures: options.dryRun }, log);
  try {
    return await applyPlannedRun(planned, config, deps, options, log, writeIntent);
  } finally {
    await closePlannedRun(planned);
  }
}

/**
 * The only writer of a run: intent, the instances, the exposure checks that
 * follow, and the removal state. Dry-run is decided here, once.
 */
async function applyPlannedRun(
  planned: PlannedRun,
  config: Config,
  deps: RunDeps,
  options: RunOptions & { force: boolean },
  log: Logger,
  writeIntent: IntentWriter,
): Promise<Reconciled> {
  // The planned instances stay as planned; what this run makes of each is kept beside it.
  const runs: InstanceRun[] = planned.instances.map((p) => ({ planned: p, result: p.result }));
  const reconciled = (rest: Partial<Reconciled> = {}): Reconciled => ({
    desired: planned.desired,
    sources: planned.sources,
    instances: runs.map((r) => shownResult(r.planned, r.result)),
    held: planned.held,
    error: planned.error,
    overridden: planned.overridden,
    unexpected: planned.unexpected,
    flaps: planned.flaps,
    stateNotice: planned.stateNotice,
    ...rest,
  });
  /** The instances an error stopped before their first change, each left unchanged. */
  const stoppedBy = (err: unknown, stopped: InstanceRun[], state: string, errorMessage = message(err)): Reconciled => {
    for (const r of stopped) r.result = failedResult(r.planned.target, err, state, r.result);
    return reconciled({ error: { code: errorCode(err), message: errorMessage } });
  };
  if (planned.error || options.dryRun || !planned.grace || !planned.state) return reconciled();
  if (options.reviewed) {
    const moved = whatMoved(options.reviewed.plan, {
      configDigest: deps.audit.context.configDigest,
      desired: planned.desired,
      instances: planned.instances.map((p) => p.result),
    });
    if (moved.length > 0) {
      const stale = new AllowlistError(
        "E_PLAN_STALE",
        `the reviewed plan of ${options.reviewed.plan.createdAt} is stale, nothing applied: ${moved.join("; ")}`,
      );
      log.error({ err: stale }, "the reviewed plan is stale");
      return stoppedBy(stale, runs, "unchanged (the reviewed plan is stale)");
    }
  }
  // A stopped run writes nothing, not even the removal state: it may already have been reported as abandoned.
  if (options.signal?.aborted) {
    return stoppedBy(new AllowlistError("E_ABORTED", "the run was stopped (shutdown) before any change"), runs, "unchanged (stopped before any change)");
  }
  if (planned.held) {
    // Nothing is applied, but who gets in is still worth saying: a hold must not hide an exposure.
    await checkAfterApply(planned, runs, config, log);
    return reconciled();
  }
  const grace = planned.grace;
  const changing = runs.filter((r): r is ChangingRun => r.planned.kind === "planned" && r.result.status === "planned");

  if (changing.length > 0) {
    // No change without a record: the intent is written before the first write to any instance.
    try {
      await writeIntent(reconciled());
    } catch (err) {
      log.error({ err }, "the audit trail cannot be written; nothing will be applied");
      return stoppedBy(
        err,
        changing,
        "unchanged (the audit trail could not be written, so nothing was applied)",
        `audit trail failed, nothing applied: ${message(err)}`,
      );
    }
    const desiredTexts = (planned.desiredSet?.entries ?? []).map((e) => e.cidr.text);
    const persisted = new Map<string, Promise<void>>();
    let applied = 0;
    await mapLimit(changing, config.haproxy.concurrency, async (r) => {
      const { planned: p } = r;
      const result = await applyInstance(p.instance, p.plan, p.live.snapshot, {
        config,
        desired: desiredTexts,
        force: options.force,
        log,
        pending: grace.pending,
        persisted,
      });
      // Once applied, the list holds the planned content: only duplicates through foreign entries can remain.
      const duplicates =
        result.status === "applied" && config.haproxy.kind === "map" ? findDuplicates(p.plan.content, ownershipOf(config)) : (p.result.duplicates ?? []);
      r.result = { ...result, unexpected: p.result.unexpected ?? [], vanished: p.result.vanished ?? [], duplicates, exposures: [] };
      deps.progress?.({ phase: "apply", done: ++applied, total: changing.length });
    });
  }

  await checkAfterApply(planned, runs, config, log);
  const now = (deps.now ?? (() => new Date()))();
  const results = runs.map((r) => r.result);
  const next = settleState(grace.nextState, {
    removed: results.filter((r) => r.status === "applied").flatMap((r) => r.remove),
    converged: results.filter((r) => r.status === "applied" || r.status === "in-sync").map((r) => r.target),
    now,
    processes: new Map(planned.instances.map((p) => [p.target, p.kind === "unreached" ? undefined : p.instance.process])),
    ...(deps.instances ? { narrowedTo: deps.instances } : {}),
  });
  await deps.removalState
    .save(next)
    .catch((err: unknown) => log.error({ err }, "the removal state could not be saved; absent entries start their grace period again next run"));
  return reconciled();
}

/** One instance in a run: as planned, and what the run made of it so far. */
interface InstanceRun {
  readonly planned: PlannedInstance;
  result: InstanceResult;
}

/** An instance with changes to apply. */
interface ChangingRun extends InstanceRun {
  readonly planned: Extract<InstanceWithPlan, { kind: "planned" }>;
}

/** An instance whose plan stands (applied, in sync or held): HAProxy's matcher is asked about it. */
interface CheckedRun extends InstanceRun {
  readonly planned: InstanceWithPlan;
}

/** After the apply (or the hold), HAProxy's matcher on every reached instance: anything admitted that should not be is an exposure. */
async function checkAfterApply(planned: PlannedRun, runs: InstanceRun[], config: Config, log: Logger): Promise<void> {
  const settled = new Set([...(planned.desiredSet?.entries ?? []).map((e) => e.cidr.text), ...(planned.grace?.pending.keys() ?? [])]);
  const earlier = planned.removedRecently;
  await mapLimit(
    runs.filter(
      (r): r is CheckedRun => (r.planned.kind === "planned" || r.planned.kind === "held") && ["applied", "in-sync", "held"].includes(r.result.status),
    ),
    config.haproxy.concurrency,
    async (r) => {
      const { planned: p } = r;
      const applied = r.result.status === "applied";
      try {
        const checked = await checkExposures(p.instance, config, {
          removed: applied ? [...r.result.remove, ...earlier] : earlier,
          settled,
          live: applied ? p.plan.content : p.live.entries,
        });
        r.result = { ...r.result, exposures: checked.exposures, ...(checked.skipped > 0 ? { uncheckedRemovals: checked.skipped } : {}) };
        if (checked.exposures.length > 0) {
          log.warn(
            { target: p.target, exposures: checked.exposures.slice(0, 20) },
            `${checked.exposures.length} exposure(s) on ${p.target}: admitted although they should not be`,
          );
        }
      } catch (err) {
        log.error({ err, target: p.target }, "could not ask the instance who it admits after the apply");
        const error = new HaproxyError("E_EXPOSURE_CHECK", p.target, `the exposure check failed: ${message(err)}`, { cause: err });
        r.result = {
          ...r.result,
          status: "failed",
          error: error.message,
          errorCode: error.code,
          state: applied ? "changed and verified; who it admits could not be checked" : "unchanged",
        };
      }
    },
  );
}
