import { leftAs } from "../model/left-state.js";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { AllowlistError, errorCode } from "../errors.js";
import { resolveTargets } from "../haproxy/discover.js";
import { LiveEntryBudget, type RunLiveEntries, runLiveEntries } from "../haproxy/live-budget.js";
import type { ReadLimits } from "../haproxy/runtime.js";
import { formatDuration } from "../config/duration.js";
import type { ErrorSummary } from "../model/result.js";
import { transportWarning } from "../model/target.js";
import { SHOWN_IN_RESULT } from "../util/log-fields.js";
import { mapLimit } from "../util/map-limit.js";
import type { RunDeps, RuntimeTarget } from "./deps.js";
import { notContacted, type PlannedInstance } from "./planned-instance.js";
import { baseResult, failedResult, message } from "./results.js";
import { reportingReserveMs } from "./run-timeout.js";

/** What reading the instances goes through: discovery, connections, progress, `--instance`, when the run ends and what it may hold. */
export type ReadDeps = Pick<RunDeps, "connect" | "discovery" | "progress" | "instances" | "runEndsAt" | "liveEntryBudget">;

/** Every instance found and read, each left open; an instance that cannot be read is a failed result, not an error. */
export async function readInstances(
  config: Config,
  deps: ReadDeps,
  log: Logger,
): Promise<{ instances: PlannedInstance[] } | { instances: PlannedInstance[]; error: ErrorSummary }> {
  let discovered: string[];
  try {
    discovered = await resolveTargets(config.haproxy, { ...deps.discovery, timeoutMs: config.haproxy.timeoutMs });
  } catch (err) {
    log.error({ err }, "instance discovery failed");
    return { instances: notContacted(config.haproxy.sockets, "instance discovery failed"), error: { code: errorCode(err), message: message(err) } };
  }
  const targets = chosenTargets(discovered, deps.instances);
  const limits = readLimits(config, deps.liveEntryBudget ?? runLiveEntries(), deps.runEndsAt);
  let done = 0;
  const instances = await mapLimit(targets, config.haproxy.concurrency, async (target) => {
    try {
      return await readInstance(target, config, (t) => deps.connect(t, limits), log);
    } finally {
      deps.progress?.({ phase: "read", done: ++done, total: targets.length });
    }
  });
  return { instances };
}

/**
 * The run's budget of live entries (see LiveEntryBudget) and its deadlines.
 * Reading gets half of what is left of runTimeout (less the end kept for
 * reporting) and applying the other half: an instance slower than that fails
 * on its own, and the instances that answered are still applied in time.
 */
function readLimits(config: Config, forRun: RunLiveEntries, runEndsAt: number | undefined): ReadLimits {
  const budget = new LiveEntryBudget(config.limits.maxLiveEntries, config.haproxy.concurrency, forRun);
  if (runEndsAt === undefined) return { budget };
  const workEndsAt = runEndsAt - reportingReserveMs(config.runTimeoutMs);
  const now = Date.now();
  const runTimeout = `runTimeout ${formatDuration(config.runTimeoutMs)}`;
  return {
    budget,
    readBy: { at: now + Math.max(0, workEndsAt - now) / 2, what: `the part of ${runTimeout} left for reading the instances` },
    endBy: { at: workEndsAt, what: `the end of ${runTimeout}` },
  };
}

/** The discovered instances, or those of them `--instance` names. */
function chosenTargets(discovered: string[], chosen: ReadonlyArray<string> | undefined): string[] {
  if (!chosen) return discovered;
  const unknown = chosen.filter((t) => !discovered.includes(t));
  // Bad usage, as an unknown target in haproxy.sockets is: thrown, so nothing is read, planned or recorded.
  if (unknown.length > 0)
    throw new AllowlistError("E_INSTANCE_UNKNOWN", `--instance ${unknown.join(", ")}: not among the discovered instances (${discovered.join(", ") || "none"})`);
  return discovered.filter((t) => chosen.includes(t));
}

/** One instance, connected and its list read; unreached (its connection closed) when either fails. */
async function readInstance(target: string, config: Config, connect: RunDeps["connect"], log: Logger): Promise<PlannedInstance> {
  let instance: RuntimeTarget | undefined;
  try {
    instance = await connect(target);
    const live = await instance.readList(config.haproxy.kind, config.haproxy.map);
    const warning = transportWarning(target);
    if (warning) log.warn({ target }, warning);
    return { kind: "read", target, instance, live, result: baseResult(target), ...(warning ? { warnings: [warning] } : {}) };
  } catch (err) {
    log.error({ err, target, ...SHOWN_IN_RESULT }, "could not read instance");
    await instance?.close().catch(() => undefined);
    return {
      kind: "unreached",
      target,
      result: failedResult(target, err, leftAs("unchanged", "unchanged (nothing was written)"), instance ? { haproxyVersion: instance.version } : {}),
    };
  }
}
