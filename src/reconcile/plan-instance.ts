import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import type { AbsenceState } from "../model/absence.js";
import { canonicalKey } from "../model/cidr.js";
import { digestOfUnordered } from "../model/entries.js";
import type { LiveEntry } from "../model/list.js";
import type { Findings } from "../model/result.js";
import { tooBroadEntries } from "../plan/exposure.js";
import { type GraceDecision, reappearedOn, recentlyRemoved, vanishedFrom } from "../plan/grace.js";
import { computePlan, findDuplicates, type InstancePlan, isOwned, type Ownership } from "../plan/plan.js";
import { checkExposures } from "./exposure-check.js";
import { ownershipOf } from "./ownership.js";
import { failedAfterRead, type ReachedInstance } from "./planned-instance.js";
import { plannedResult } from "./results.js";

/** What every instance is planned against: the desired set, the grace period, the removal state. */
export interface PlanningContext {
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

export function planningContext(
  config: Config,
  desiredTexts: string[],
  removal: { grace: GraceDecision; state: AbsenceState; now: Date },
  options: { probeExposures: boolean; log: Logger },
): PlanningContext {
  const keep = new Set(removal.grace.pending.keys());
  return {
    config,
    desiredTexts,
    keep,
    grace: removal.grace,
    state: removal.state,
    settled: new Set([...desiredTexts, ...keep]),
    removedRecently: recentlyRemoved(removal.state, removal.now),
    ...options,
  };
}

/** One read instance's plan and findings (drift, duplicates, exposures); failed when its matcher cannot be asked. */
export async function planInstance(p: ReachedInstance, context: PlanningContext): Promise<ReachedInstance> {
  const { config, grace, settled, log } = context;
  const live = p.live.entries;
  const plan = computePlan(live, context.desiredTexts, ownershipOf(config), context.keep);
  const findings = findingsOn(p, plan, context);
  if (context.probeExposures) {
    try {
      const checked = await checkExposures(p.instance, config, { removed: context.removedRecently, settled, live, tooBroad: findings.exposures });
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

/** Drift, duplicates and too-broad entries seen in the live list alone; vanished entries are logged. */
function findingsOn(p: ReachedInstance, plan: InstancePlan, context: PlanningContext): Findings {
  const { config, grace, state, settled, log } = context;
  const ownership = ownershipOf(config);
  const live = p.live.entries;
  const findings: Findings = {
    unexpected: unexpectedOn(p.target, plan.remove, grace, state, p.instance.process),
    vanished: withoutHeldByOthers(vanishedFrom(p.target, plan.add, state, p.instance.process), live, ownership),
    duplicates: config.haproxy.kind === "map" ? findDuplicates(live, ownership, settled) : [],
    exposures: tooBroadEntries(live, config.guards, ownership),
  };
  if (findings.vanished.length > 0)
    log.warn({ target: p.target, vanished: findings.vanished.slice(0, 20) }, `${findings.vanished.length} owned entries vanished from ${p.target} (drift)`);
  return findings;
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
    others.add(canonicalKey(entry.key));
  }
  return vanished.filter((key) => !others.has(key));
}
