import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { type InstanceDrift, needsAttention, type StatusReport } from "../model/status.js";
import { closePlannedRun, type PlanDeps, type PlannedInstance, planRun, shownResult } from "./plan-run.js";

function exitCode(report: Omit<StatusReport, "exitCode">, detailedExitcode: boolean): number {
  if (report.error || report.instances.some((i) => i.error)) return 1;
  return detailedExitcode && (!report.inSync || report.instances.some(needsAttention)) ? 2 : 0;
}

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
  if (!p.plan || r.status === "failed") {
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
    liveCount: p.live?.entries.length ?? 0,
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
export async function inspect(config: Config, deps: PlanDeps & { logger: Logger }, options: { detailedExitcode: boolean }): Promise<StatusReport> {
  const planned = await planRun(config, deps, { force: false, noGrace: false, probeExposures: true }, deps.logger);
  await closePlannedRun(planned);
  const instances = planned.error ? [] : planned.instances.map(drift);
  const body = {
    version: 1 as const,
    desired: planned.desired,
    sources: planned.sources,
    instances,
    flaps: planned.flaps,
    stateNotice: planned.stateNotice,
    inSync: !planned.error && instances.every((i) => i.inSync),
    error: planned.error,
  };
  return { ...body, exitCode: exitCode(body, options.detailedExitcode) };
}
