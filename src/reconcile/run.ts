import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { AllowlistError, errorCode, HaproxyError } from "../errors.js";
import { type ListKind, type LiveEntry, UnsafeTextError, type WritableEntry } from "../haproxy/protocol.js";
import { type AlertEventName, alertEvents, resolvedTargets } from "../alert/events.js";
import { type AuditContext, auditBody, outcomeEvent } from "../audit/body.js";
import type { AuditBody, AuditRecord } from "../audit/record.js";
import type { Notifier } from "../alert/notifier.js";
import { digestOf } from "../model/entries.js";
import { exitCodeOf, type InstanceResult, type RunResult, type SourceStatus } from "../model/result.js";
import { evaluateGuards, type GuardTrip } from "../plan/guards.js";
import { computePlan, hasChanges, type InstancePlan, type Ownership } from "../plan/plan.js";
import { buildDesiredSet, type DesiredSet } from "../sources/desired.js";
import type { Source, SourceResult } from "../sources/types.js";

/** What the reconciler needs of one HAProxy instance; HaproxyInstance is the real one. */
export interface RuntimeTarget {
  readonly target: string;
  readonly version: string;
  readonly transactional: boolean;
  readEntries(kind: ListKind, file: string): Promise<LiveEntry[]>;
  replace(kind: ListKind, file: string, content: WritableEntry[]): Promise<{ version?: number }>;
  applyIncremental(kind: ListKind, file: string, add: WritableEntry[], remove: LiveEntry[]): Promise<{ version?: number }>;
  close(): Promise<void>;
}

/** The audit trail as the reconciler uses it; AuditTrail is the real one. */
export interface AuditWriter {
  last(): Promise<AuditRecord | undefined>;
  append(body: AuditBody): Promise<AuditRecord>;
}

export interface RunDeps {
  logger: Logger;
  audit: { trail: AuditWriter; context: AuditContext };
  sources: Source[];
  connect: (target: string) => Promise<RuntimeTarget>;
  /** Sends alerts; without one, alerts are only logged. */
  notifier?: Notifier;
  now?: () => Date;
  newRunId?: () => string;
}

export interface RunOptions {
  dryRun: boolean;
  detailedExitcode: boolean;
  /** Sets aside the threshold guards (never minEntries, never validation). */
  force?: boolean;
}

interface Planned {
  target: string;
  instance: RuntimeTarget;
  plan: InstancePlan;
}

type Resolution =
  | { ok: true; desired: DesiredSet; sources: SourceStatus[] }
  /** `desired` is present when every source answered but some values were refused. */
  | { ok: false; error: AllowlistError; sources: SourceStatus[]; desired?: DesiredSet };

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Fetches every source and builds the desired set; any failure means nothing may change. */
export async function resolveDesired(config: Config, sources: Source[], now: () => Date): Promise<Resolution> {
  const outcomes = await Promise.all(
    sources.map(async (source) => {
      const started = now().getTime();
      try {
        return { source, result: await source.fetch(), error: undefined, durationMs: now().getTime() - started };
      } catch (error) {
        return { source, result: undefined, error, durationMs: now().getTime() - started };
      }
    }),
  );
  const statuses: SourceStatus[] = outcomes.map(({ source, result, error, durationMs }) =>
    result
      ? {
          name: source.name,
          type: source.type,
          status: "ok",
          count: result.entries.length,
          digest: digestOf(result.entries.map((e) => e.value)),
          durationMs,
          ...(result.disagreements ? { disagreements: result.disagreements } : {}),
        }
      : { name: source.name, type: source.type, status: "failed", count: 0, durationMs, error: message(error), errorCode: errorCode(error) },
  );
  const failed = outcomes.filter((o) => o.error !== undefined);
  if (failed.length > 0) {
    const text = failed.map((f) => message(f.error)).join("; ");
    return { ok: false, sources: statuses, error: new AllowlistError(errorCode(failed[0]?.error), `source failed, nothing changed: ${text}`) };
  }
  const desired = buildDesiredSet(
    outcomes.map((o) => o.result as SourceResult),
    { exclude: config.exclude, ...config.guards },
  );
  if (desired.rejected.length > 0) {
    const shown = desired.rejected.slice(0, 10).map((r) => `source ${r.source}: ${JSON.stringify(r.value)}: ${r.reason}`);
    const more = desired.rejected.length > 10 ? `; … (+${desired.rejected.length - 10} more)` : "";
    return {
      ok: false,
      sources: statuses,
      desired,
      error: new AllowlistError("E_DESIRED_REJECTED", `rejected ${desired.rejected.length} value(s), nothing changed: ${shown.join("; ")}${more}`),
    };
  }
  if (desired.entries.length === 0) {
    return { ok: false, sources: statuses, error: new AllowlistError("E_DESIRED_EMPTY", "the desired set is empty, nothing changed (an empty answer never removes anything)") };
  }
  return { ok: true, desired, sources: statuses };
}

function baseResult(target: string): InstanceResult {
  return { target, status: "failed", add: [], remove: [], pendingRemoval: [], error: null };
}

function failedResult(target: string, err: unknown, state: string, extra: Partial<InstanceResult> = {}): InstanceResult {
  return { ...baseResult(target), ...extra, status: "failed", error: message(err), errorCode: errorCode(err), state };
}

function plannedResult({ target, instance, plan }: Planned): InstanceResult {
  return {
    ...baseResult(target),
    status: hasChanges(plan) ? "planned" : "in-sync",
    add: plan.add,
    remove: plan.remove,
    haproxyVersion: instance.version,
    ownedCount: plan.ownedCount,
    foreignCount: plan.foreignCount,
  };
}

const tripSummary = ({ guard, message, target }: GuardTrip) => (target === undefined ? { guard, message } : { guard, message, target });

type Outcome = Pick<RunResult, "desired" | "sources" | "instances" | "held" | "error" | "overridden" | "unexpected">;

/**
 * One reconciliation: sources → desired set → per-instance plans → guards
 * over all plans → apply → read back → alerts. Dry-run is decided here and
 * nowhere else.
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
  const writeIntent: IntentWriter = (facts) => record(auditBody("intent", { ...facts, runId, forced: force }, deps.audit.context, now(), unfinished));

  const outcome = await reconcile(config, deps, { ...options, force }, log, now, writeIntent);
  const body = {
    version: 1 as const,
    runId,
    dryRun: options.dryRun,
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    forced: force,
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

type IntentWriter = (facts: Pick<RunResult, "sources" | "desired" | "instances" | "held" | "error">) => Promise<void>;

/** A run killed between `intent` and its outcome leaves an intent last in the trail. */
async function findUnfinishedIntent(trail: AuditWriter, log: Logger): Promise<AuditBody["unfinishedIntent"]> {
  try {
    const last = await trail.last();
    if (last?.event !== "intent") return null;
    log.warn({ unfinishedRunId: last.runId, seq: last.seq }, `run ${last.runId} recorded an intent at ${last.time} but no outcome (killed, crashed, or still running)`);
    return { runId: last.runId, seq: last.seq, time: last.time };
  } catch (err) {
    // Reported again, and fatal, when the first record is written.
    log.error({ err }, "cannot read the audit trail");
    return null;
  }
}

async function reconcile(
  config: Config,
  deps: RunDeps,
  options: Required<RunOptions>,
  log: Logger,
  now: () => Date,
  writeIntent: IntentWriter,
): Promise<Outcome> {
  const { kind, map: file, value } = config.haproxy;
  const ownership: Ownership = { kind, value };
  const targets = config.haproxy.sockets;
  const quiet = { held: null, overridden: [], unexpected: [] };

  const resolution = await resolveDesired(config, deps.sources, now);
  if (!resolution.ok) {
    log.error({ err: resolution.error }, "desired set unavailable");
    const notContacted = new AllowlistError("E_NOT_CONTACTED", "not contacted: the desired set is unavailable");
    return {
      ...quiet,
      desired: { count: 0, digest: null },
      sources: resolution.sources,
      instances: targets.map((t) => failedResult(t, notContacted, "unchanged (not contacted)")),
      error: { code: resolution.error.code, message: resolution.error.message },
    };
  }
  const { desired } = resolution;
  const desiredTexts = desired.entries.map((e) => e.cidr.text);
  for (const source of resolution.sources) {
    for (const d of source.disagreements ?? []) {
      log.warn(
        { source: source.name, address: d.address, hostname: d.hostname, returnedBy: d.returnedBy, missingFrom: d.missingFrom, counted: d.counted },
        `resolvers disagree on ${d.address} (${d.hostname}): ${d.counted ? "kept" : "dropped, below the quorum"}`,
      );
    }
  }
  log.info({ desired: desiredTexts.length, digest: desired.digest, excluded: desired.excluded.length }, "desired set resolved");

  const planned: Planned[] = [];
  const results = new Map<string, InstanceResult>();
  await Promise.all(
    targets.map(async (target) => {
      let instance: RuntimeTarget | undefined;
      try {
        instance = await deps.connect(target);
        const plan = computePlan(await instance.readEntries(kind, file), desiredTexts, ownership);
        planned.push({ target, instance, plan });
        log.debug({ target, add: plan.add.length, remove: plan.remove.length, owned: plan.ownedCount, foreign: plan.foreignCount }, "planned");
      } catch (err) {
        log.error({ err, target }, "could not read instance");
        await instance?.close().catch(() => undefined);
        results.set(target, failedResult(target, err, "unchanged (nothing was written)", instance ? { haproxyVersion: instance.version } : {}));
      }
    }),
  );

  try {
    const verdict = evaluateGuards({
      desiredCount: desiredTexts.length,
      plans: planned,
      settings: config.guards,
      force: options.force,
    });
    if (verdict.overridden.length > 0) log.warn({ forced: true, overridden: verdict.overridden.map(tripSummary) }, "guards overridden by --force");
    const lead = verdict.holds[0];
    const facts = (error: Outcome["error"]): Outcome => ({
      desired: { count: desiredTexts.length, digest: desired.digest },
      sources: resolution.sources,
      instances: targets.map((t) => results.get(t) as InstanceResult),
      held: lead ? { guard: lead.guard, message: lead.message, trips: verdict.holds.map(tripSummary) } : null,
      overridden: verdict.overridden.map(tripSummary),
      unexpected: verdict.unexpected,
      error,
    });
    if (lead) {
      log.warn({ guard: lead.guard, trips: verdict.holds.map(tripSummary) }, `held: ${lead.message}`);
      for (const p of planned) results.set(p.target, { ...plannedResult(p), status: "held" });
      return facts(null);
    }
    for (const p of planned) results.set(p.target, plannedResult(p));
    const changing = planned.filter((p) => hasChanges(p.plan));
    if (options.dryRun || changing.length === 0) return facts(null);

    // No change without a record: the intent is written before the first write to any instance.
    try {
      await writeIntent(facts(null));
    } catch (err) {
      log.error({ err }, "the audit trail cannot be written; nothing will be applied");
      for (const p of changing) {
        results.set(p.target, failedResult(p.target, err, "unchanged (the audit trail could not be written, so nothing was applied)", plannedResult(p)));
      }
      return facts({ code: errorCode(err), message: `audit trail failed, nothing applied: ${message(err)}` });
    }
    await Promise.all(changing.map(async (p) => results.set(p.target, await applyPlan(p.instance, p.plan, plannedResult(p), config, desiredTexts, log))));
    return facts(null);
  } finally {
    await Promise.all(planned.map((p) => p.instance.close().catch(() => undefined)));
  }
}

/** Alerts never change the exit code; an undelivered alert is logged and listed in the result. */
async function sendAlerts(result: RunResult, config: Config, deps: RunDeps, log: Logger, now: () => Date): Promise<RunResult["alerts"]> {
  const on: AlertEventName[] = config.alerts?.on ?? [];
  const events = alertEvents(result, on, now());
  if (result.dryRun) {
    for (const e of events) log.info({ alert: e.event }, `dry run, not sent: ${e.summary}`);
    return [];
  }
  if (!deps.notifier) return [];
  const resolves = on.includes("held") || on.includes("failed") ? resolvedTargets(result) : [];
  if (events.length === 0 && resolves.length === 0) return [];
  const deliveries = await deps.notifier.notify(events, resolves);
  for (const d of deliveries) {
    if (d.ok) log.info({ sink: d.sink, alert: d.event }, "alert sent");
    else log.error({ err: { message: d.error }, sink: d.sink, alert: d.event }, "alert could not be delivered");
  }
  return deliveries;
}

async function applyPlan(
  instance: RuntimeTarget,
  plan: InstancePlan,
  summary: InstanceResult,
  config: Config,
  desired: string[],
  log: Logger,
): Promise<InstanceResult> {
  const { kind, map: file, value } = config.haproxy;
  const target = instance.target;
  let committed = false;
  try {
    const outcome = instance.transactional
      ? await instance.replace(kind, file, plan.content)
      : await instance.applyIncremental(
          kind,
          file,
          plan.add.map((key) => (kind === "map" ? { key, value } : { key })),
          plan.removeEntries,
        );
    committed = true;
    const after = computePlan(await instance.readEntries(kind, file), desired, { kind, value });
    if (hasChanges(after)) {
      throw new AllowlistError(
        "E_HAPROXY_VERIFY",
        `${target}: read-back after commit differs from the desired set (missing ${after.add.length}, unexpected ${after.remove.length}); another writer may have changed it`,
      );
    }
    log.info({ target, add: plan.add.length, remove: plan.remove.length, committedVersion: outcome.version }, "applied");
    return { ...summary, status: "applied", ...(outcome.version === undefined ? {} : { committedVersion: outcome.version }) };
  } catch (err) {
    log.error({ err, target }, "apply failed");
    const state = committed ? "changed: the new entries were committed but the read-back did not match" : stateAfterFailure(err);
    return failedResult(target, err, state, { add: plan.add, remove: plan.remove, haproxyVersion: instance.version });
  }
}

function stateAfterFailure(err: unknown): string {
  if (err instanceof HaproxyError && err.liveState === "unchanged") return "unchanged (not committed)";
  if (err instanceof UnsafeTextError) return "unchanged (nothing was sent)";
  return "unknown: the connection was lost during the change; run `travis-allowlist sync --dry-run` to see the live entries";
}
