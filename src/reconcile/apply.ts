import { type Left, leftAs } from "../model/left-state.js";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { AllowlistError, errorCode, HaproxyError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import { renderListFile } from "../haproxy/protocol.js";
import type { ListSnapshot } from "../haproxy/runtime.js";
import type { LiveEntry } from "../model/list.js";
import type { InstanceResult } from "../model/result.js";
import { evaluateGuards } from "../plan/guards.js";
import { computePlan, hasChanges, type InstancePlan } from "../plan/plan.js";
import type { RuntimeTarget } from "./deps.js";
import { ownershipOf } from "./ownership.js";
import { failedResult, message, plannedResult, stateAfterFailure } from "./results.js";

export interface ApplyContext {
  config: Config;
  desired: string[];
  force: boolean;
  log: Logger;
  /** Entries kept through the removal grace period, with when they will go. */
  pending: ReadonlyMap<string, string>;
  /** Map files already rewritten in this run: instances sharing one path persist it once. */
  persisted?: Map<string, Promise<void>>;
}

async function commitPlan(instance: RuntimeTarget, plan: InstancePlan, snapshot: ListSnapshot, config: Config): Promise<number | undefined> {
  const { kind, map: file, value } = config.haproxy;
  if (instance.transactional) return (await instance.replace(kind, file, plan.content, snapshot)).version;
  // Without transactions a rewritten key is added under its new value before its old copies go.
  const add = [...plan.add, ...plan.rewrite].map((key) => (kind === "map" ? { key, value } : { key }));
  return (await instance.applyIncremental(kind, file, add, [...plan.removeEntries, ...plan.supersede])).version;
}

/**
 * Applies one instance's plan: commit, read back, persist. A conflict with
 * another writer is re-read, re-planned (guards included) and retried once.
 */
export async function applyInstance(
  instance: RuntimeTarget,
  initial: InstancePlan,
  initialSnapshot: ListSnapshot,
  context: ApplyContext,
): Promise<InstanceResult> {
  const target = instance.target;
  let plan = initial;
  let snapshot = initialSnapshot;
  for (let attempt = 1; ; attempt++) {
    const summary = plannedResult(target, instance.version, plan, context.pending);
    let committed = false;
    try {
      const version = await commitPlan(instance, plan, snapshot, context.config);
      committed = true;
      await checkAndPersist(instance, plan, version, context);
      return { ...summary, status: "applied", ...(version === undefined ? {} : { committedVersion: version }) };
    } catch (err) {
      if (errorCode(err) === "E_HAPROXY_CONFLICT" && attempt === 1) {
        const retry = await replanAfterConflict(instance, err, summary, context);
        if ("result" in retry) return retry.result;
        ({ plan, snapshot } = retry);
        continue;
      }
      context.log.error({ err, target }, "apply failed");
      const state = committed ? failureAfterCommit(err) : stateAfterFailure(err);
      return failedResult(target, err, state, { add: summary.add, remove: summary.remove, haproxyVersion: instance.version });
    }
  }
}

/** The plan from `live` to the desired set, keeping the entries in their removal grace period. */
function planFrom(live: ReadonlyArray<LiveEntry>, context: ApplyContext): InstancePlan {
  return computePlan(live, context.desired, ownershipOf(context.config), new Set(context.pending.keys()));
}

/** After the commit: the live list proven or read back equal to the plan, then the map file rewritten when `haproxy.persist` says so. */
async function checkAndPersist(instance: RuntimeTarget, plan: InstancePlan, version: number | undefined, context: ApplyContext): Promise<void> {
  const { config, log } = context;
  const { kind, map: file } = config.haproxy;
  const target = instance.target;
  // The committed version was checked entry by entry before its commit: when it is the live
  // one and nothing else is staged, that proves the live entries. Otherwise read them all back.
  const proven = version !== undefined && (await instance.isLive(kind, file, version, plan.content.length));
  const after = proven ? undefined : planFrom((await instance.readList(kind, file)).entries, context);
  if (after && hasChanges(after)) {
    throw new HaproxyError(
      "E_HAPROXY_VERIFY",
      target,
      `read-back after commit differs from the desired set (missing ${after.add.length}, unexpected ${after.remove.length}); another writer may have changed it`,
    );
  }
  if (config.haproxy.persist) await persistOnce(file, plan, target, context.persisted);
  log.info({ target, add: plan.add.length, remove: plan.remove.length, committedVersion: version, persisted: config.haproxy.persist }, "applied");
}

/**
 * After a conflict with another writer: the list re-read and re-planned for
 * the one more try, or the instance's result when there is nothing to try
 * (the read failed, nothing is left to change, or a guard would hold it).
 */
async function replanAfterConflict(
  instance: RuntimeTarget,
  conflict: unknown,
  summary: InstanceResult,
  context: ApplyContext,
): Promise<{ plan: InstancePlan; snapshot: ListSnapshot } | { result: InstanceResult }> {
  const { config, log } = context;
  const target = instance.target;
  log.warn({ err: conflict, target }, "conflict with another writer; re-reading and retrying once");
  let retry: { plan: InstancePlan; snapshot: ListSnapshot };
  try {
    const live = await instance.readList(config.haproxy.kind, config.haproxy.map);
    retry = { plan: planFrom(live.entries, context), snapshot: live.snapshot };
  } catch (readErr) {
    const state = stateAfterFailure(conflict);
    return { result: failedResult(target, readErr, state, { add: summary.add, remove: summary.remove, haproxyVersion: instance.version }) };
  }
  const { plan } = retry;
  if (!hasChanges(plan)) return { result: plannedResult(target, instance.version, plan, context.pending) };
  const verdict = evaluateGuards({ desiredCount: context.desired.length, plans: [{ target, plan }], settings: config.guards, force: context.force });
  const hold = verdict.holds[0];
  if (hold) {
    const held = new HaproxyError("E_HAPROXY_CONFLICT", target, `after a conflict the re-planned change would be held: ${hold.message}`);
    return {
      result: failedResult(target, held, leftAs("unchanged", "unchanged (not committed)"), {
        add: plan.add,
        remove: plan.remove,
        haproxyVersion: instance.version,
      }),
    };
  }
  return retry;
}

function failureAfterCommit(err: unknown): Left {
  return ["E_PERSIST", "E_PERSIST_UNSAFE"].includes(errorCode(err))
    ? leftAs("changed-in-memory", "changed in memory, but the file was not rewritten: a reload would bring back the old entries")
    : leftAs("changed", "changed: the new entries were committed but the read-back did not match");
}

function persistOnce(file: string, plan: InstancePlan, target: string, persisted: Map<string, Promise<void>> | undefined): Promise<void> {
  const earlier = persisted?.get(file);
  if (earlier) return earlier;
  const writing = persist(file, plan, target);
  persisted?.set(file, writing);
  return writing;
}

/** Same host only: the file HAProxy loaded (through a link, if it is one), rewritten atomically with its owner and mode kept. */
async function persist(file: string, plan: InstancePlan, target: string): Promise<void> {
  try {
    await writeFileAtomic(file, renderListFile(plan.content), { preserveOwnership: true, throughSymlink: true });
  } catch (err) {
    // A link another user could have aimed keeps its own code: no permission change on the file would make it safe.
    const code = errorCode(err) === "E_PERSIST_UNSAFE" ? "E_PERSIST_UNSAFE" : "E_PERSIST";
    throw new AllowlistError(code, `${target}: committed, but ${file} could not be rewritten: ${message(err)}`, { cause: err });
  }
}
