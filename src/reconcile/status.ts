import type { Logger } from "pino";
import { clockOf } from "./deps.js";
import { formatDuration } from "../config/duration.js";
import type { Config } from "../config/schema.js";
import { canonicalKey } from "../model/cidr.js";
import { type AbsenceState, emptyState } from "../model/absence.js";
import { type InstanceDrift, type StatusReport, statusOutcomeOf } from "../model/status.js";
import { driftFromState, recentlyRemoved } from "../plan/grace.js";
import { isOwned } from "../plan/plan.js";
import { ownershipOf } from "./ownership.js";
import { checkExposures } from "./exposure-check.js";
import { closePlannedRun, type PlanDeps, type PlannedRun, planRun } from "./plan-run.js";
import { failedAfterRead, type PlannedInstance, shownResult } from "./planned-instance.js";
import { deniedPerInstance } from "./status-denied.js";

function drift(p: PlannedInstance): InstanceDrift {
  const r = shownResult(p);
  const findings = {
    ...(r.warnings ? { warnings: r.warnings } : {}),
    unexpected: r.unexpected ?? [],
    vanished: r.vanished ?? [],
    duplicates: r.duplicates ?? [],
    exposures: r.exposures ?? [],
    ...(r.uncheckedRemovals ? { uncheckedRemovals: r.uncheckedRemovals } : {}),
  };
  if (p.kind !== "planned" && p.kind !== "held") {
    return {
      target: p.target,
      haproxyVersion: r.haproxyVersion ?? null,
      liveCount: 0,
      ownedCount: 0,
      foreignCount: 0,
      missing: [],
      remove: [],
      pendingRemoval: [],
      ...findings,
      inSync: false,
      error: r.error ?? "unknown error",
      ...(r.errorCode ? { errorCode: r.errorCode } : {}),
    };
  }
  const plan = p.plan;
  return {
    target: p.target,
    haproxyVersion: r.haproxyVersion ?? null,
    liveCount: p.live.entries.length,
    ownedCount: plan.ownedCount,
    foreignCount: plan.foreignCount,
    missing: plan.add,
    remove: plan.remove,
    pendingRemoval: r.pendingRemoval,
    ...(plan.rewrite.length > 0 || plan.supersede.length > 0 ? { rewrite: plan.rewrite } : {}),
    ...findings,
    inSync: plan.add.length === 0 && plan.remove.length === 0 && plan.rewrite.length === 0 && plan.supersede.length === 0,
    error: null,
  };
}

/** Live against desired on every instance, and who gets in that should not; reads only, changes nothing, records nothing. */
export async function inspect(config: Config, deps: PlanDeps & { logger: Logger }): Promise<StatusReport> {
  // A source outage must not blind status: the instances are still read, and judged by what the removal state knows.
  const planned = await planRun(config, deps, { force: false, noGrace: false, probeExposures: true, readWithoutDesired: true }, deps.logger);
  let instances: InstanceDrift[];
  const table = config.haproxy.denials;
  try {
    if (!planned.desiredSet) instances = await judgedWithoutDesired(planned, config, deps);
    else instances = planned.error ? [] : planned.instances.map(drift);
    if (table && instances.length > 0) {
      const denied = await deniedPerInstance(planned, config, { ...table, now: clockOf(deps)() }, deps.logger);
      instances = instances.map((i) => ({ ...i, ...(denied.get(i.target) ?? { denied: null, deniedError: null }) }));
    }
  } finally {
    await closePlannedRun(planned);
  }
  const body = {
    version: 1 as const,
    desired: planned.desired,
    sources: planned.sources,
    instances,
    flaps: planned.flaps,
    stateNotice: planned.stateNotice,
    ...(table ? { deniedTable: { table: table.table, window: formatDuration(table.expireMs) } } : {}),
    inSync: planned.desiredSet ? !planned.error && instances.every((i) => i.inSync) : null,
    error: planned.error,
  };
  return { ...body, outcome: statusOutcomeOf(body) };
}

/**
 * Each instance read while the desired set is unknown: its counts, drift and
 * exposures from the removal state and HAProxy's matcher; what needs the
 * desired set (missing, remove, pending, in sync) is null, not a guess.
 */
async function judgedWithoutDesired(planned: PlannedRun, config: Config, deps: PlanDeps & { logger: Logger }): Promise<InstanceDrift[]> {
  const ownership = ownershipOf(config);
  let state: AbsenceState = emptyState(config.haproxy.map);
  let stateKnown = false;
  try {
    const loaded = await deps.removalState.load(config.haproxy.map);
    state = loaded.state;
    stateKnown = loaded.notice === null;
  } catch (err) {
    deps.logger.warn({ err }, "the removal state cannot be used: drift is not judged while the desired set is unknown");
  }
  const now = clockOf(deps)();
  const known = new Set(state.provenance.flatMap((g) => g.entries));
  const removed = recentlyRemoved(state, now);
  return Promise.all(
    planned.instances.map(async (p): Promise<InstanceDrift> => {
      if (p.kind === "unreached") return { ...drift(p), missing: null, remove: null, pendingRemoval: null, inSync: null };
      const entries = p.live.entries;
      const owned = entries.filter((e) => isOwned(e, ownership));
      const found = driftFromState(p.target, { owned: owned.map((e) => canonicalKey(e.key)), all: new Set(entries.map((e) => canonicalKey(e.key))) }, state, {
        process: p.instance.process,
        stateKnown,
      });
      try {
        const checked = await checkExposures(p.instance, config, { removed, settled: known, live: entries });
        return {
          target: p.target,
          ...(p.warnings ? { warnings: p.warnings } : {}),
          haproxyVersion: p.instance.version,
          liveCount: entries.length,
          ownedCount: owned.length,
          foreignCount: entries.length - owned.length,
          missing: null,
          remove: null,
          pendingRemoval: null,
          ...found,
          duplicates: [],
          exposures: checked.exposures,
          ...(checked.skipped > 0 ? { uncheckedRemovals: checked.skipped } : {}),
          inSync: null,
          error: null,
        };
      } catch (err) {
        deps.logger.error({ err, target: p.target }, "could not ask the instance who it admits");
        return { ...drift(failedAfterRead(p, err)), missing: null, remove: null, pendingRemoval: null, inSync: null };
      }
    }),
  );
}
