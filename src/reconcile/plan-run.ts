import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { errorCode } from "../errors.js";
import type { AbsenceState } from "../model/absence.js";
import type { DesiredSet } from "../model/desired.js";
import type { DesiredSummary, ErrorSummary, HeldBy, SourceStatus } from "../model/result.js";
import type { GraceDecision } from "../plan/grace.js";
import type { LoadedAbsenceState } from "../state/absence-store.js";
import { mapLimit } from "../util/map-limit.js";
import { SHOWN_IN_RESULT } from "../util/log-fields.js";
import { clockOf, type RunDeps } from "./deps.js";
import { type Resolution, resolveDesired } from "./desired.js";
import { logDesired } from "./desired-log.js";
import { judgeByGuards } from "./guard-verdict.js";
import { planInstance, planningContext } from "./plan-instance.js";
import { failedAfterRead, notContacted, type PlannedInstance } from "./planned-instance.js";
import { readInstances } from "./read-instances.js";
import { decideRemovalGrace } from "./removal-grace.js";
import { message } from "./results.js";

export { failedAfterRead, shownResult, type InstanceWithPlan, type PlannedInstance, type ReachedInstance } from "./planned-instance.js";

/**
 * Everything a run knows before it writes anything: sources, live lists,
 * removal state, plans, guards, drift and exposures. `sync`, `sync
 * --dry-run`, `status` and `explain` are views of this one value.
 */
export interface PlannedRun {
  desired: DesiredSummary;
  desiredSet: DesiredSet | null;
  sources: SourceStatus[];
  instances: PlannedInstance[];
  grace: GraceDecision | null;
  /** The removal state as loaded (empty when there was none). */
  state: AbsenceState | null;
  /** Entries removed within the last day, most recent first: the matcher is asked about them. */
  removedRecently: string[];
  stateNotice: string | null;
  held: HeldBy | null;
  overridden: HeldBy["trips"];
  /** New entries outside guards.expected. */
  unexpected: string[];
  flaps: Record<string, number>;
  /** Why the whole run cannot go on (no desired set, no instances); nothing may change. */
  error: ErrorSummary | null;
}

export interface PlanOptions {
  force: boolean;
  noGrace: boolean;
  /** Put excluded and recently removed addresses to each instance's matcher (status); a sync asks after its apply instead. */
  probeExposures: boolean;
  /** Read the instances even without a desired set (explain still asks HAProxy during a source outage); nothing is planned then. */
  readWithoutDesired?: boolean;
}

/** What planning reads through: sources, instances, the removal state, the clock. */
export type PlanDeps = Pick<RunDeps, "sources" | "connect" | "discovery" | "progress" | "now" | "removalState" | "instances" | "runEndsAt" | "liveEntryBudget">;

function emptyRun(rest: Partial<PlannedRun>): PlannedRun {
  return {
    desired: { count: 0, digest: null },
    desiredSet: null,
    sources: [],
    instances: [],
    grace: null,
    state: null,
    removedRecently: [],
    stateNotice: null,
    held: null,
    overridden: [],
    unexpected: [],
    flaps: {},
    error: null,
    ...rest,
  };
}

/** Reads everything a run needs and decides what it would do; writes nothing anywhere. */
export async function planRun(config: Config, deps: PlanDeps, options: PlanOptions, log: Logger): Promise<PlannedRun> {
  const clock = clockOf(deps);
  const now = clock();
  const resolution = await resolveDesired(config, deps.sources, clock);
  if (!resolution.ok) return planWithoutDesired(config, deps, options, resolution, log);
  const { desired } = resolution;
  const desiredTexts = desired.entries.map((e) => e.cidr.text);
  logDesired(resolution, log);
  const base = { desired: { count: desiredTexts.length, digest: desired.digest }, desiredSet: desired, sources: resolution.sources };

  const read = await readInstances(config, deps, log);
  if ("error" in read) return emptyRun({ ...base, instances: read.instances, error: read.error });
  let loaded: LoadedAbsenceState;
  try {
    loaded = await deps.removalState.load(config.haproxy.map);
  } catch (err) {
    log.error({ err }, "the removal state cannot be used");
    const instances = read.instances.map((p) => (p.kind === "unreached" ? p : failedAfterRead(p, err)));
    return emptyRun({ ...base, instances, error: { code: errorCode(err), message: message(err) } });
  }
  const lives = read.instances.flatMap((p) => (p.kind === "unreached" ? [] : [p.live.entries]));
  const removal = { noGrace: options.noGrace, now, partial: deps.instances !== undefined };
  const { grace, stateNotice } = decideRemovalGrace(config, desired, lives, loaded, removal, log);

  const context = planningContext(config, desiredTexts, { grace, state: loaded.state, now }, { probeExposures: options.probeExposures, log });
  const planned = await mapLimit(read.instances, config.haproxy.concurrency, async (p) => (p.kind === "read" ? planInstance(p, context) : p));
  const verdict = judgeByGuards(planned, desired.entries, config, options.force, log);
  return {
    ...base,
    instances: verdict.instances,
    grace,
    state: loaded.state,
    removedRecently: context.removedRecently,
    stateNotice,
    held: verdict.held,
    overridden: verdict.overridden,
    unexpected: verdict.unexpected,
    flaps: grace.flaps,
    error: null,
  };
}

/** The sources failed: nothing is planned; the instances are read only when the caller asks HAProxy regardless (explain, status). */
async function planWithoutDesired(
  config: Config,
  deps: PlanDeps,
  options: PlanOptions,
  resolution: Extract<Resolution, { ok: false }>,
  log: Logger,
): Promise<PlannedRun> {
  log.error({ err: resolution.error, ...SHOWN_IN_RESULT }, "desired set unavailable");
  const error = { code: resolution.error.code, message: resolution.error.message };
  if (!options.readWithoutDesired) {
    return emptyRun({ sources: resolution.sources, instances: notContacted(config.haproxy.sockets, "the desired set is unavailable"), error });
  }
  const read = await readInstances(config, deps, log);
  return emptyRun({ sources: resolution.sources, instances: read.instances, error });
}

/** Closes every connection a planned run opened. */
export async function closePlannedRun(run: PlannedRun): Promise<void> {
  await Promise.all(run.instances.flatMap((p) => (p.kind === "unreached" ? [] : [p.instance.close().catch(() => undefined)])));
}
