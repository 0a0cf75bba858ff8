import type { Logger } from "pino";
import { transportWarning } from "../model/target.js";
import { digestOfUnordered } from "../model/entries.js";
import type { Config } from "../config/schema.js";
import { AllowlistError, errorCode } from "../errors.js";
import { resolveTargets } from "../haproxy/discover.js";
import type { LiveEntry, WritableEntry } from "../model/list.js";
import type { LiveList } from "../haproxy/runtime.js";
import type { ErrorSummary, Exposure, Findings, HeldBy, InstanceResult, SourceStatus } from "../model/result.js";
import { exposureProbes, judgeProbes, tooBroadEntries } from "../plan/exposure.js";
import type { AbsenceState } from "../model/absence.js";
import { type GraceDecision, reappearedOn, recentlyRemoved, vanishedFrom } from "../plan/grace.js";
import { evaluateGuards, type GuardTrip } from "../plan/guards.js";
import { parseCidr } from "../model/cidr.js";
import { computePlan, findDuplicates, type InstancePlan, isOwned, type Ownership } from "../plan/plan.js";
import type { DesiredSet } from "../model/desired.js";
import type { RunDeps, RuntimeTarget } from "./deps.js";
import { resolveDesired } from "./desired.js";
import { graceFor } from "./grace.js";
import { ownershipOf } from "./ownership.js";
import { mapLimit } from "../util/map-limit.js";
import { SHOWN_IN_RESULT } from "../util/log-fields.js";
import { baseResult, failedResult, message, plannedResult } from "./results.js";

/** One instance as planned: its open connection, what it holds and what it needs. */
export interface PlannedInstance {
  target: string;
  /** Open until `closePlannedRun`; absent when the instance could not be read. */
  instance?: RuntimeTarget;
  live?: LiveList;
  plan?: InstancePlan;
  result: InstanceResult;
  /** About the instance itself (an unauthenticated runtime API), whatever becomes of its result. */
  warnings?: string[];
}

/** An instance's result with its warnings, as every view shows it. */
export function shownResult(p: PlannedInstance): InstanceResult {
  return p.warnings ? { ...p.result, warnings: p.warnings } : p.result;
}

/**
 * Everything a run knows before it writes anything: sources, live lists,
 * removal state, plans, guards, drift and exposures. `sync`, `sync
 * --dry-run`, `status` and `explain` are views of this one value.
 */
export interface PlannedRun {
  desired: { count: number; digest: string | null };
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
export type PlanDeps = Pick<RunDeps, "sources" | "connect" | "discovery" | "progress" | "now" | "removalState" | "instances">;

const tripSummary = ({ guard, message, target }: GuardTrip) => (target === undefined ? { guard, message } : { guard, message, target });

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

function notContacted(targets: string[], reason: string): PlannedInstance[] {
  return targets.map((target) => ({
    target,
    result: failedResult(target, new AllowlistError("E_NOT_CONTACTED", `not contacted: ${reason}`), "unchanged (not contacted)"),
  }));
}

/** Reads everything a run needs and decides what it would do; writes nothing anywhere. */
export async function planRun(config: Config, deps: PlanDeps, options: PlanOptions, log: Logger): Promise<PlannedRun> {
  const now = (deps.now ?? (() => new Date()))();
  const { kind, map: file } = config.haproxy;
  const ownership = ownershipOf(config);

  const resolution = await resolveDesired(config, deps.sources, deps.now ?? (() => new Date()));
  if (!resolution.ok) {
    log.error({ err: resolution.error, ...SHOWN_IN_RESULT }, "desired set unavailable");
    const error = { code: resolution.error.code, message: resolution.error.message };
    if (!options.readWithoutDesired) {
      return emptyRun({ sources: resolution.sources, instances: notContacted(config.haproxy.sockets, "the desired set is unavailable"), error });
    }
    const read = await readInstances(config, deps, log);
    return emptyRun({ sources: resolution.sources, instances: read.instances, error });
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
  const base = { desired: { count: desiredTexts.length, digest: desired.digest }, desiredSet: desired, sources: resolution.sources };

  const read = await readInstances(config, deps, log);
  if ("error" in read) return emptyRun({ ...base, instances: read.instances, error: read.error });
  const { instances } = read;
  const reached = instances.filter((p) => p.instance && p.live);

  // The grace period is decided once for every instance of the map, then each instance is planned with it.
  let loaded: Awaited<ReturnType<PlanDeps["removalState"]["load"]>>;
  try {
    loaded = await deps.removalState.load(file);
  } catch (err) {
    log.error({ err }, "the removal state cannot be used");
    for (const p of reached)
      p.result = failedResult(p.target, err, "unchanged (nothing was written)", p.instance ? { haproxyVersion: p.instance.version } : {});
    return emptyRun({ ...base, instances, error: { code: errorCode(err), message: message(err) } });
  }
  const stateKnown = loaded.notice === null;
  const grace = graceFor(
    config,
    desired,
    reached.map((p) => (p.live as LiveList).entries),
    loaded.state,
    { noGrace: options.noGrace, now, stateKnown, partial: deps.instances !== undefined },
  );
  const stateNotice = stateKnown ? null : lostStateNotice(loaded.notice as string, grace.pending.size);
  // Said once, in the result; the log keeps it for log stores.
  if (stateNotice) log.info({ stateNotice }, stateNotice);
  else if (loaded.notice) log.debug({ stateNotice: loaded.notice }, `${loaded.notice}: no entry absent upstream depends on it this run`);
  const keep = new Set(grace.pending.keys());
  if (options.noGrace) log.warn({ noGrace: true }, "--no-grace: absent entries are removed without the grace period");
  for (const [entry, removeAt] of grace.pending) log.info({ entry, removeAt }, `${entry} is absent from the sources; kept until ${removeAt}`);
  if (grace.unexpected.size > 0)
    log.warn({ unexpected: [...grace.unexpected].slice(0, 20) }, `${grace.unexpected.size} owned entries were never planned by this tool (drift)`);

  const settled = new Set([...desiredTexts, ...keep]);
  const removedRecently = recentlyRemoved(loaded.state, now);
  await mapLimit(reached, config.haproxy.concurrency, async (p) => {
    const instance = p.instance as RuntimeTarget;
    const live = (p.live as LiveList).entries;
    const plan = computePlan(live, desiredTexts, ownership, keep);
    p.plan = plan;
    const findings: Findings = {
      unexpected: unexpectedOn(p.target, plan.remove, grace, loaded.state, instance.process),
      vanished: withoutHeldByOthers(vanishedFrom(p.target, plan.add, loaded.state, instance.process), live, ownership),
      duplicates: kind === "map" ? findDuplicates(live, ownership, settled) : [],
      exposures: tooBroadEntries(live, config.guards, ownership),
    };
    if (findings.vanished.length > 0)
      log.warn({ target: p.target, vanished: findings.vanished.slice(0, 20) }, `${findings.vanished.length} owned entries vanished from ${p.target} (drift)`);
    if (options.probeExposures) {
      try {
        const checked = await checkExposures(instance, config, { removed: removedRecently, settled, live });
        findings.exposures = checked.exposures;
        if (checked.skipped > 0) findings.uncheckedRemovals = checked.skipped;
      } catch (err) {
        log.error({ err, target: p.target }, "could not ask the instance who it admits");
        p.result = failedResult(p.target, err, "unchanged (nothing was written)", { haproxyVersion: instance.version });
        return;
      }
    }
    const liveDigest = digestOfUnordered(live.map((e) => `${e.key} ${e.value ?? ""}`));
    p.result = { ...plannedResult(p.target, instance.version, plan, grace.pending), ...findings, liveDigest };
    log.debug(
      { target: p.target, add: plan.add.length, remove: plan.remove.length, kept: plan.kept.length, owned: plan.ownedCount, foreign: plan.foreignCount },
      "planned",
    );
  });

  const planned = reached.filter((p) => p.plan && p.result.status !== "failed");
  const verdict = evaluateGuards({
    desiredCount: desiredTexts.length,
    plans: planned.map((p) => ({ target: p.target, plan: p.plan as InstancePlan })),
    settings: config.guards,
    force: options.force,
  });
  if (verdict.overridden.length > 0)
    log.warn({ forced: true, overridden: verdict.overridden.map(tripSummary) }, "guards set aside (--force, or a reviewed plan)");
  const lead = verdict.holds[0];
  let held: HeldBy | null = null;
  if (lead) {
    log.warn({ guard: lead.guard, trips: verdict.holds.map(tripSummary) }, `held: ${lead.message}`);
    for (const p of planned) p.result = { ...p.result, status: "held" };
    held = { guard: lead.guard, message: lead.message, trips: verdict.holds.map(tripSummary) };
  }
  return {
    ...base,
    instances,
    grace,
    state: loaded.state,
    removedRecently,
    stateNotice,
    held,
    overridden: verdict.overridden.map(tripSummary),
    unexpected: verdict.unexpected,
    flaps: grace.flaps,
    error: null,
  };
}

/**
 * Without the removal state an entry nobody published looks like one the
 * sources stopped publishing, so it keeps the grace period: worth saying only
 * when that kept an entry.
 */
function lostStateNotice(cause: string, kept: number): string | null {
  if (kept === 0) return null;
  const entries =
    kept === 1
      ? "1 owned entry absent upstream keeps the grace period: without a record it"
      : `${kept} owned entries absent upstream keep the grace period: without a record they`;
  return `${cause}: ${entries} cannot be told from entries nobody published`;
}

/** Owned entries on this instance that this tool never planned, or removed and someone put back: no grace period. */
function unexpectedOn(target: string, removing: string[], grace: GraceDecision, state: AbsenceState, process: string | undefined): string[] {
  const reappeared = new Set(reappearedOn(target, removing, state, process));
  return removing.filter((key) => grace.unexpected.has(key) || reappeared.has(key));
}

/** A desired key now held under another value did not vanish, it changed hands (e.g. `haproxy.value` changed without `previousValues`). */
function withoutHeldByOthers(vanished: string[], live: ReadonlyArray<LiveEntry>, ownership: Ownership): string[] {
  if (vanished.length === 0) return vanished;
  const others = new Set<string>();
  for (const entry of live) {
    if (isOwned(entry, ownership)) continue;
    const parsed = parseCidr(entry.key, { lenient: true });
    others.add(parsed.ok ? parsed.cidr.text : entry.key);
  }
  return vanished.filter((key) => !others.has(key));
}

/** Every instance found and read, each left open; an instance that cannot be read is a failed result, not an error. */
async function readInstances(
  config: Config,
  deps: PlanDeps,
  log: Logger,
): Promise<{ instances: PlannedInstance[] } | { instances: PlannedInstance[]; error: ErrorSummary }> {
  const { kind, map: file } = config.haproxy;
  let targets: string[];
  try {
    targets = await resolveTargets(config.haproxy, { ...deps.discovery, timeoutMs: config.haproxy.timeoutMs });
  } catch (err) {
    log.error({ err }, "instance discovery failed");
    return { instances: notContacted(config.haproxy.sockets, "instance discovery failed"), error: { code: errorCode(err), message: message(err) } };
  }
  if (deps.instances) {
    const unknown = deps.instances.filter((t) => !targets.includes(t));
    // Bad usage, as an unknown target in haproxy.sockets is: thrown, so nothing is read, planned or recorded.
    if (unknown.length > 0)
      throw new AllowlistError("E_INSTANCE_UNKNOWN", `--instance ${unknown.join(", ")}: not among the discovered instances (${targets.join(", ") || "none"})`);
    targets = targets.filter((t) => deps.instances?.includes(t));
  }
  const reads = new Map<string, PlannedInstance>();
  let read = 0;
  await mapLimit(targets, config.haproxy.concurrency, async (target) => {
    let instance: RuntimeTarget | undefined;
    try {
      instance = await deps.connect(target);
      const live = await instance.readList(kind, file);
      const warning = transportWarning(target);
      if (warning) log.warn({ target }, warning);
      reads.set(target, { target, instance, live, result: baseResult(target), ...(warning ? { warnings: [warning] } : {}) });
    } catch (err) {
      log.error({ err, target, ...SHOWN_IN_RESULT }, "could not read instance");
      await instance?.close().catch(() => undefined);
      reads.set(target, { target, result: failedResult(target, err, "unchanged (nothing was written)", instance ? { haproxyVersion: instance.version } : {}) });
    }
    deps.progress?.({ phase: "read", done: ++read, total: targets.length });
  });
  return { instances: targets.map((t) => reads.get(t) as PlannedInstance) };
}

/**
 * Who gets in that should not: excluded and removed addresses put to
 * HAProxy's own matcher, and live entries broader than the prefix guards.
 */
export async function checkExposures(
  instance: RuntimeTarget,
  config: Config,
  context: { removed: ReadonlyArray<string>; settled: ReadonlySet<string>; live: ReadonlyArray<LiveEntry | WritableEntry> },
): Promise<{ exposures: Exposure[]; skipped: number }> {
  const ownership = ownershipOf(config);
  const { probes, skipped } = exposureProbes(config.exclude, context.removed, context.live);
  const answers = await instance.match(
    config.haproxy.kind,
    config.haproxy.map,
    probes.map((p) => p.address),
  );
  return {
    exposures: [...judgeProbes(probes, answers, { ownership, settled: context.settled }), ...tooBroadEntries(context.live, config.guards, ownership)],
    skipped,
  };
}

/** Closes every connection a planned run opened. */
export async function closePlannedRun(run: PlannedRun): Promise<void> {
  await Promise.all(run.instances.flatMap((p) => (p.instance ? [p.instance.close().catch(() => undefined)] : [])));
}
