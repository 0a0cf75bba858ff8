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

/** An instance that was read: its connection, open until `closePlannedRun`, and what it holds. */
interface ReadInstance {
  readonly target: string;
  readonly instance: RuntimeTarget;
  readonly live: LiveList;
  readonly result: InstanceResult;
  /** About the instance itself (an unauthenticated runtime API), whatever becomes of its result. */
  readonly warnings?: string[];
}

/**
 * One instance as planned, built once: `unreached` (not contacted, or not
 * read), `read` (nothing planned: the desired set is unknown), `planned` (its
 * plan, in sync or with changes), `held` (its plan, held by a guard), or
 * `failed` (read, then failed; its connection stays open until the run closes).
 */
export type PlannedInstance =
  | { readonly kind: "unreached"; readonly target: string; readonly result: InstanceResult }
  | (ReadInstance & { readonly kind: "read" })
  | (ReadInstance & { readonly kind: "failed" })
  | (ReadInstance & { readonly kind: "planned"; readonly plan: InstancePlan })
  | (ReadInstance & { readonly kind: "held"; readonly plan: InstancePlan });

export type ReachedInstance = Exclude<PlannedInstance, { kind: "unreached" }>;
export type InstanceWithPlan = Extract<PlannedInstance, { plan: InstancePlan }>;

/** An instance's result (its planned one, or what the run made of it) with its warnings, as every view shows it. */
export function shownResult(p: PlannedInstance, result: InstanceResult = p.result): InstanceResult {
  return p.kind !== "unreached" && p.warnings ? { ...result, warnings: p.warnings } : result;
}

/** A read instance that failed afterwards (its matcher, the removal state): nothing was written to it. */
export function failedAfterRead(p: ReachedInstance, err: unknown): ReachedInstance {
  return { ...p, kind: "failed", result: failedResult(p.target, err, "unchanged (nothing was written)", { haproxyVersion: p.instance.version }) };
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
    kind: "unreached",
    target,
    result: failedResult(target, new AllowlistError("E_NOT_CONTACTED", `not contacted: ${reason}`), "unchanged (not contacted)"),
  }));
}

/** Reads everything a run needs and decides what it would do; writes nothing anywhere. */
export async function planRun(config: Config, deps: PlanDeps, options: PlanOptions, log: Logger): Promise<PlannedRun> {
  const now = (deps.now ?? (() => new Date()))();
  const { map: file } = config.haproxy;

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
  const reached = read.instances.filter((p) => p.kind !== "unreached");

  // The grace period is decided once for every instance of the map, then each instance is planned with it.
  let loaded: Awaited<ReturnType<PlanDeps["removalState"]["load"]>>;
  try {
    loaded = await deps.removalState.load(file);
  } catch (err) {
    log.error({ err }, "the removal state cannot be used");
    const instances = read.instances.map((p) => (p.kind === "unreached" ? p : failedAfterRead(p, err)));
    return emptyRun({ ...base, instances, error: { code: errorCode(err), message: message(err) } });
  }
  const stateKnown = loaded.notice === null;
  const grace = graceFor(
    config,
    desired,
    reached.map((p) => p.live.entries),
    loaded.state,
    { noGrace: options.noGrace, now, stateKnown, partial: deps.instances !== undefined },
  );
  const stateNotice = loaded.notice === null ? null : lostStateNotice(loaded.notice, grace.pending.size);
  // Said once, in the result; the log keeps it for log stores.
  if (stateNotice) log.info({ stateNotice }, stateNotice);
  else if (loaded.notice) log.debug({ stateNotice: loaded.notice }, `${loaded.notice}: no entry absent upstream depends on it this run`);
  const keep = new Set(grace.pending.keys());
  if (options.noGrace) log.warn({ noGrace: true }, "--no-grace: absent entries are removed without the grace period");
  for (const [entry, removeAt] of grace.pending) log.info({ entry, removeAt }, `${entry} is absent from the sources; kept until ${removeAt}`);
  if (grace.unexpected.size > 0)
    log.warn({ unexpected: [...grace.unexpected].slice(0, 20) }, `${grace.unexpected.size} owned entries were never planned by this tool (drift)`);

  const context: PlanningContext = {
    config,
    desiredTexts,
    keep,
    grace,
    state: loaded.state,
    settled: new Set([...desiredTexts, ...keep]),
    removedRecently: recentlyRemoved(loaded.state, now),
    probeExposures: options.probeExposures,
    log,
  };
  const planned = await mapLimit(read.instances, config.haproxy.concurrency, async (p) => (p.kind === "read" ? planInstance(p, context) : p));

  const verdict = evaluateGuards({
    desiredCount: desiredTexts.length,
    plans: planned.flatMap((p) => (p.kind === "planned" ? [{ target: p.target, plan: p.plan }] : [])),
    settings: config.guards,
    force: options.force,
  });
  if (verdict.overridden.length > 0)
    log.warn({ forced: true, overridden: verdict.overridden.map(tripSummary) }, "guards set aside (--force, or a reviewed plan)");
  const lead = verdict.holds[0];
  if (lead) log.warn({ guard: lead.guard, trips: verdict.holds.map(tripSummary) }, `held: ${lead.message}`);
  return {
    ...base,
    instances: lead ? planned.map((p) => (p.kind === "planned" ? { ...p, kind: "held", result: { ...p.result, status: "held" } } : p)) : planned,
    grace,
    state: loaded.state,
    removedRecently: context.removedRecently,
    stateNotice,
    held: lead ? { guard: lead.guard, message: lead.message, trips: verdict.holds.map(tripSummary) } : null,
    overridden: verdict.overridden.map(tripSummary),
    unexpected: verdict.unexpected,
    flaps: grace.flaps,
    error: null,
  };
}

/** What every instance is planned against: the desired set, the grace period, the removal state. */
interface PlanningContext {
  config: Config;
  desiredTexts: string[];
  /** Owned entries kept through their grace period. */
  keep: ReadonlySet<string>;
  grace: GraceDecision;
  state: AbsenceState;
  /** Desired and kept entries: what an instance may admit. */
  settled: ReadonlySet<string>;
  removedRecently: string[];
  probeExposures: boolean;
  log: Logger;
}

/** One read instance's plan and findings (drift, duplicates, exposures); failed when its matcher cannot be asked. */
async function planInstance(p: ReachedInstance, context: PlanningContext): Promise<ReachedInstance> {
  const { config, grace, state, settled, log } = context;
  const ownership = ownershipOf(config);
  const live = p.live.entries;
  const plan = computePlan(live, context.desiredTexts, ownership, context.keep);
  const findings: Findings = {
    unexpected: unexpectedOn(p.target, plan.remove, grace, state, p.instance.process),
    vanished: withoutHeldByOthers(vanishedFrom(p.target, plan.add, state, p.instance.process), live, ownership),
    duplicates: config.haproxy.kind === "map" ? findDuplicates(live, ownership, settled) : [],
    exposures: tooBroadEntries(live, config.guards, ownership),
  };
  if (findings.vanished.length > 0)
    log.warn({ target: p.target, vanished: findings.vanished.slice(0, 20) }, `${findings.vanished.length} owned entries vanished from ${p.target} (drift)`);
  if (context.probeExposures) {
    try {
      const checked = await checkExposures(p.instance, config, { removed: context.removedRecently, settled, live });
      findings.exposures = checked.exposures;
      if (checked.skipped > 0) findings.uncheckedRemovals = checked.skipped;
    } catch (err) {
      log.error({ err, target: p.target }, "could not ask the instance who it admits");
      return failedAfterRead(p, err);
    }
  }
  const liveDigest = digestOfUnordered(live.map((e) => `${e.key} ${e.value ?? ""}`));
  log.debug(
    { target: p.target, add: plan.add.length, remove: plan.remove.length, kept: plan.kept.length, owned: plan.ownedCount, foreign: plan.foreignCount },
    "planned",
  );
  return { ...p, kind: "planned", plan, result: { ...plannedResult(p.target, p.instance.version, plan, grace.pending), ...findings, liveDigest } };
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
  let done = 0;
  const instances = await mapLimit(targets, config.haproxy.concurrency, async (target): Promise<PlannedInstance> => {
    let instance: RuntimeTarget | undefined;
    try {
      instance = await deps.connect(target);
      const live = await instance.readList(kind, file);
      const warning = transportWarning(target);
      if (warning) log.warn({ target }, warning);
      return { kind: "read", target, instance, live, result: baseResult(target), ...(warning ? { warnings: [warning] } : {}) };
    } catch (err) {
      log.error({ err, target, ...SHOWN_IN_RESULT }, "could not read instance");
      await instance?.close().catch(() => undefined);
      return {
        kind: "unreached",
        target,
        result: failedResult(target, err, "unchanged (nothing was written)", instance ? { haproxyVersion: instance.version } : {}),
      };
    } finally {
      deps.progress?.({ phase: "read", done: ++done, total: targets.length });
    }
  });
  return { instances };
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
  await Promise.all(run.instances.flatMap((p) => (p.kind === "unreached" ? [] : [p.instance.close().catch(() => undefined)])));
}
