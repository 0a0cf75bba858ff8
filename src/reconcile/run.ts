import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { AllowlistError, errorCode, HaproxyError } from "../errors.js";
import { type ListKind, type LiveEntry, UnsafeTextError, type WritableEntry } from "../haproxy/protocol.js";
import { exitCodeOf, type InstanceResult, type RunResult, type SourceStatus } from "../model/result.js";
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

export interface RunDeps {
  logger: Logger;
  sources: Source[];
  connect: (target: string) => Promise<RuntimeTarget>;
  now?: () => Date;
  newRunId?: () => string;
}

export interface RunOptions {
  dryRun: boolean;
  detailedExitcode: boolean;
}

interface Planned {
  target: string;
  instance: RuntimeTarget;
  plan: InstancePlan;
}

type Resolution = { ok: true; desired: DesiredSet; sources: SourceStatus[] } | { ok: false; error: AllowlistError; sources: SourceStatus[] };

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
      ? { name: source.name, type: source.type, status: "ok", count: result.entries.length, durationMs }
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

/**
 * One reconciliation: sources → desired set → per-instance plan → apply →
 * read back. Dry-run is decided here and nowhere else.
 */
export async function runOnce(config: Config, deps: RunDeps, options: RunOptions): Promise<RunResult> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const runId = (deps.newRunId ?? randomUUID)();
  const log = deps.logger.child({ runId });
  const { kind, map: file, value } = config.haproxy;
  const ownership: Ownership = { kind, value };
  const targets = config.haproxy.sockets;

  const finish = (partial: Omit<RunResult, "version" | "runId" | "dryRun" | "startedAt" | "durationMs" | "exitCode">): RunResult => {
    const body = { version: 1 as const, runId, dryRun: options.dryRun, startedAt: startedAt.toISOString(), durationMs: now().getTime() - startedAt.getTime(), ...partial };
    const result = { ...body, exitCode: exitCodeOf(body, options.detailedExitcode) };
    const added = result.instances.reduce((n, i) => n + (i.status === "applied" ? i.add.length : 0), 0);
    const removed = result.instances.reduce((n, i) => n + (i.status === "applied" ? i.remove.length : 0), 0);
    log.info(
      {
        event: "run-summary",
        dryRun: options.dryRun,
        desired: result.desired.count,
        added,
        removed,
        instances: Object.fromEntries(result.instances.map((i) => [i.target, i.status])),
        durationMs: result.durationMs,
        exitCode: result.exitCode,
      },
      "run finished",
    );
    return result;
  };

  const resolution = await resolveDesired(config, deps.sources, now);
  if (!resolution.ok) {
    log.error({ err: resolution.error }, "desired set unavailable");
    return finish({
      desired: { count: 0, digest: null },
      sources: resolution.sources,
      instances: targets.map((t) => failedResult(t, new AllowlistError("E_NOT_CONTACTED", "not contacted: the desired set is unavailable"), "unchanged (not contacted)")),
      held: null,
      error: { code: resolution.error.code, message: resolution.error.message },
    });
  }
  const { desired } = resolution;
  const desiredTexts = desired.entries.map((e) => e.cidr.text);
  log.info({ desired: desiredTexts.length, digest: desired.digest, excluded: desired.excluded.length }, "desired set resolved");

  const planned: Planned[] = [];
  const results = new Map<string, InstanceResult>();
  await Promise.all(
    targets.map(async (target) => {
      let instance: RuntimeTarget | undefined;
      try {
        instance = await deps.connect(target);
        const live = await instance.readEntries(kind, file);
        const plan = computePlan(live, desiredTexts, ownership);
        planned.push({ target, instance, plan });
        log.debug({ target, add: plan.add.length, remove: plan.remove.length, owned: plan.ownedCount, foreign: plan.foreignCount }, "planned");
      } catch (err) {
        log.error({ err, target }, "could not read instance");
        await instance?.close().catch(() => undefined);
        results.set(target, failedResult(target, err, "unchanged (nothing was written)", instance ? { haproxyVersion: instance.version } : {}));
      }
    }),
  );

  await Promise.all(
    planned.map(async ({ target, instance, plan }) => {
      const summary: InstanceResult = {
        ...baseResult(target),
        add: plan.add,
        remove: plan.remove,
        haproxyVersion: instance.version,
        ownedCount: plan.ownedCount,
        foreignCount: plan.foreignCount,
      };
      try {
        if (!hasChanges(plan)) {
          results.set(target, { ...summary, status: "in-sync" });
        } else if (options.dryRun) {
          results.set(target, { ...summary, status: "planned" });
        } else {
          results.set(target, await applyPlan(instance, plan, summary, config, desiredTexts, log));
        }
      } finally {
        await instance.close().catch(() => undefined);
      }
    }),
  );

  return finish({
    desired: { count: desiredTexts.length, digest: desired.digest },
    sources: resolution.sources,
    instances: targets.map((t) => results.get(t) as InstanceResult),
    held: null,
    error: null,
  });
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
