import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { auditBody, outcomeEvent } from "../audit/body.js";
import type { AuditBody } from "../audit/record.js";
import type { Config } from "../config/schema.js";
import { AllowlistError, errorCode } from "../errors.js";
import { resolveTargets } from "../haproxy/discover.js";
import type { ListSnapshot } from "../haproxy/runtime.js";
import { exitCodeOf, type InstanceResult, type RunResult } from "../model/result.js";
import { evaluateGuards, type GuardTrip } from "../plan/guards.js";
import type { LiveList } from "../haproxy/runtime.js";
import { computePlan, hasChanges, type InstancePlan } from "../plan/plan.js";
import { graceFor } from "./grace.js";
import { sendAlerts } from "./alerts.js";
import { applyInstance } from "./apply.js";
import type { AuditWriter, RunDeps, RunOptions, RuntimeTarget } from "./deps.js";
import { resolveDesired } from "./desired.js";
import { mapLimit } from "./pool.js";
import { failedResult, message, plannedResult } from "./results.js";

export type { AuditWriter, RunDeps, RunOptions, RuntimeTarget } from "./deps.js";
export { resolveDesired } from "./desired.js";

interface Planned {
  target: string;
  instance: RuntimeTarget;
  plan: InstancePlan;
  snapshot: ListSnapshot;
}

type Outcome = Pick<RunResult, "desired" | "sources" | "instances" | "held" | "error" | "overridden" | "unexpected" | "flaps" | "stateNotice">;
type IntentWriter = (facts: Pick<RunResult, "sources" | "desired" | "instances" | "held" | "error" | "stateNotice">) => Promise<void>;

/** The parts of an outcome that stay empty when a run stops before its guards. */
const quiet = (): Pick<Outcome, "held" | "overridden" | "unexpected" | "flaps" | "stateNotice"> => ({
  held: null,
  overridden: [],
  unexpected: [],
  flaps: {},
  stateNotice: null,
});

const tripSummary = ({ guard, message, target }: GuardTrip) => (target === undefined ? { guard, message } : { guard, message, target });

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
  const force = options.force ?? false;
  if (force) log.warn({ forced: true }, "forced run: threshold guards are set aside");

  const record = async (body: AuditBody) => {
    const sealed = await deps.audit.trail.append(body);
    log.info({ audit: true, record: sealed }, `audit ${sealed.event} #${sealed.seq}`);
  };
  const unfinished = options.dryRun ? null : await findUnfinishedIntent(deps.audit.trail, log);
  const writeIntent: IntentWriter = (facts) =>
    record(auditBody("intent", { ...facts, runId, forced: force, noGrace: options.noGrace ?? false }, deps.audit.context, now(), unfinished));

  const outcome = await lockedReconcile(config, deps, { ...options, force }, log, writeIntent);
  const body = {
    version: 1 as const,
    runId,
    dryRun: options.dryRun,
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    forced: force,
    noGrace: options.noGrace ?? false,
    alerts: [],
    ...outcome,
  };
  const result: RunResult = { ...body, exitCode: exitCodeOf(body, options.detailedExitcode) };

  if (!options.dryRun) {
    try {
      await record(auditBody(outcomeEvent(result), result, deps.audit.context, now(), unfinished));
    } catch (err) {
      log.error({ err }, "the outcome could not be written to the audit trail");
      result.error ??= { code: errorCode(err), message: `audit trail failed: ${message(err)}` };
      result.exitCode = exitCodeOf(result, options.detailedExitcode);
    }
  }
  result.alerts = await sendAlerts(result, config, deps, log, now);
  result.durationMs = now().getTime() - startedAt.getTime();

  const applied = result.instances.filter((i) => i.status === "applied");
  log.info(
    {
      event: "run-summary",
      dryRun: options.dryRun,
      forced: force,
      desired: result.desired.count,
      added: applied.reduce((n, i) => n + i.add.length, 0),
      removed: applied.reduce((n, i) => n + i.remove.length, 0),
      held: result.held?.guard ?? null,
      instances: Object.fromEntries(result.instances.map((i) => [i.target, i.status])),
      durationMs: result.durationMs,
      exitCode: result.exitCode,
    },
    "run finished",
  );
  return result;
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
): Promise<Outcome> {
  if (options.dryRun || !deps.runLock) return reconcile(config, deps, options, log, writeIntent);
  let release: () => Promise<void>;
  try {
    release = await deps.runLock();
  } catch (err) {
    log.error({ err }, "another sync holds the run lock");
    return {
      ...quiet(),
      desired: { count: 0, digest: null },
      sources: [],
      instances: [],
      error: { code: errorCode(err), message: `not started: ${message(err)}` },
    };
  }
  try {
    return await reconcile(config, deps, options, log, writeIntent);
  } finally {
    await release();
  }
}

async function reconcile(config: Config, deps: RunDeps, options: RunOptions & { force: boolean }, log: Logger, writeIntent: IntentWriter): Promise<Outcome> {
  const { kind, map: file, value } = config.haproxy;
  const notContacted = (targets: string[], reason: string) =>
    targets.map((t) => failedResult(t, new AllowlistError("E_NOT_CONTACTED", `not contacted: ${reason}`), "unchanged (not contacted)"));

  const resolution = await resolveDesired(config, deps.sources, deps.now ?? (() => new Date()));
  if (!resolution.ok) {
    log.error({ err: resolution.error }, "desired set unavailable");
    return {
      ...quiet(),
      desired: { count: 0, digest: null },
      sources: resolution.sources,
      instances: notContacted(config.haproxy.sockets, "the desired set is unavailable"),
      error: { code: resolution.error.code, message: resolution.error.message },
    };
  }
  const { desired } = resolution;
  const desiredTexts = desired.entries.map((e) => e.cidr.text);
  log.info({ desired: desiredTexts.length, digest: desired.digest, excluded: desired.excluded.length }, "desired set resolved");
  for (const source of resolution.sources) {
    for (const d of source.disagreements ?? []) {
      log.warn(
        { source: source.name, address: d.address, hostname: d.hostname, returnedBy: d.returnedBy, missingFrom: d.missingFrom, counted: d.counted },
        `resolvers disagree on ${d.address} (${d.hostname}): ${d.counted ? "kept" : "dropped, below the quorum"}`,
      );
    }
  }
  const facts = (instances: InstanceResult[], rest: Partial<Outcome> = {}): Outcome => ({
    ...quiet(),
    desired: { count: desiredTexts.length, digest: desired.digest },
    sources: resolution.sources,
    instances,
    error: null,
    ...rest,
  });

  let targets: string[];
  try {
    targets = await resolveTargets(config.haproxy, { ...deps.discovery, timeoutMs: config.haproxy.timeoutMs });
  } catch (err) {
    log.error({ err }, "instance discovery failed");
    return facts(notContacted(config.haproxy.sockets, "instance discovery failed"), { error: { code: errorCode(err), message: message(err) } });
  }

  const concurrency = config.haproxy.concurrency;
  const results = new Map<string, InstanceResult>();
  const reads: Array<{ target: string; instance: RuntimeTarget; live: LiveList }> = [];
  let read = 0;
  await mapLimit(targets, concurrency, async (target) => {
    let instance: RuntimeTarget | undefined;
    try {
      instance = await deps.connect(target);
      reads.push({ target, instance, live: await instance.readList(kind, file) });
    } catch (err) {
      log.error({ err, target }, "could not read instance");
      await instance?.close().catch(() => undefined);
      results.set(target, failedResult(target, err, "unchanged (nothing was written)", instance ? { haproxyVersion: instance.version } : {}));
    }
    deps.progress?.({ phase: "read", done: ++read, total: targets.length });
  });
  const ordered = () => targets.map((t) => results.get(t) as InstanceResult);

  // The grace period is decided once for every instance of the map, then each instance is planned with it.
  const ownership = { kind, value };
  const loaded = await deps.removalState.load(file);
  if (loaded.notice) log.warn({ stateNotice: loaded.notice }, loaded.notice);
  const grace = graceFor(
    config,
    desired,
    reads.map((r) => r.live.entries),
    loaded.state,
    { noGrace: options.noGrace ?? false, now: (deps.now ?? (() => new Date()))() },
  );
  const keep = new Set(grace.pending.keys());
  if (options.noGrace) log.warn({ noGrace: true }, "--no-grace: absent entries are removed without the grace period");
  for (const [entry, removeAt] of grace.pending) log.info({ entry, removeAt }, `${entry} is absent from the sources; kept until ${removeAt}`);
  const planned: Planned[] = reads.map(({ target, instance, live }) => {
    const plan = computePlan(live.entries, desiredTexts, ownership, keep);
    results.set(target, plannedResult(target, instance.version, plan, grace.pending));
    log.debug(
      { target, add: plan.add.length, remove: plan.remove.length, kept: plan.kept.length, owned: plan.ownedCount, foreign: plan.foreignCount },
      "planned",
    );
    return { target, instance, plan, snapshot: live.snapshot };
  });
  const graceFacts = { flaps: grace.flaps, stateNotice: loaded.notice };
  const saveState = async () => {
    if (options.dryRun) return;
    await deps.removalState
      .save(grace.nextState)
      .catch((err: unknown) => log.error({ err }, "the removal state could not be saved; absent entries start their grace period again next run"));
  };

  try {
    const verdict = evaluateGuards({ desiredCount: desiredTexts.length, plans: planned, settings: config.guards, force: options.force });
    if (verdict.overridden.length > 0) log.warn({ forced: true, overridden: verdict.overridden.map(tripSummary) }, "guards overridden by --force");
    const verdictFacts = { overridden: verdict.overridden.map(tripSummary), unexpected: verdict.unexpected, ...graceFacts };
    const lead = verdict.holds[0];
    if (lead) {
      log.warn({ guard: lead.guard, trips: verdict.holds.map(tripSummary) }, `held: ${lead.message}`);
      for (const p of planned) results.set(p.target, { ...(results.get(p.target) as InstanceResult), status: "held" });
      return facts(ordered(), { ...verdictFacts, held: { guard: lead.guard, message: lead.message, trips: verdict.holds.map(tripSummary) } });
    }
    const changing = planned.filter((p) => hasChanges(p.plan));
    if (options.dryRun || changing.length === 0) return facts(ordered(), verdictFacts);

    if (options.signal?.aborted) {
      log.warn("stopping: the run is abandoned before its first change");
      const aborted = new AllowlistError("E_ABORTED", "the run was stopped (shutdown) before any change");
      for (const p of changing) results.set(p.target, failedResult(p.target, aborted, "unchanged (stopped before any change)", results.get(p.target)));
      return facts(ordered(), { ...verdictFacts, error: { code: aborted.code, message: aborted.message } });
    }
    // No change without a record: the intent is written before the first write to any instance.
    try {
      await writeIntent(facts(ordered(), verdictFacts));
    } catch (err) {
      log.error({ err }, "the audit trail cannot be written; nothing will be applied");
      for (const p of changing) {
        results.set(p.target, failedResult(p.target, err, "unchanged (the audit trail could not be written, so nothing was applied)", results.get(p.target)));
      }
      return facts(ordered(), { ...verdictFacts, error: { code: errorCode(err), message: `audit trail failed, nothing applied: ${message(err)}` } });
    }
    let applied = 0;
    await mapLimit(changing, concurrency, async (p) => {
      results.set(
        p.target,
        await applyInstance(p.instance, p.plan, p.snapshot, { config, desired: desiredTexts, force: options.force, log, pending: grace.pending }),
      );
      deps.progress?.({ phase: "apply", done: ++applied, total: changing.length });
    });
    return facts(ordered(), verdictFacts);
  } finally {
    await saveState();
    await Promise.all(planned.map((p) => p.instance.close().catch(() => undefined)));
  }
}
