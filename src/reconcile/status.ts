import type { Config } from "../config/schema.js";
import { errorCode } from "../errors.js";
import { resolveTargets } from "../haproxy/discover.js";
import type { SourceStatus } from "../model/result.js";
import { computePlan } from "../plan/plan.js";
import type { RunDeps, RuntimeTarget } from "./deps.js";
import { resolveDesired } from "./desired.js";
import { mapLimit } from "./pool.js";
import { message } from "./results.js";

export interface InstanceDrift {
  target: string;
  haproxyVersion: string | null;
  liveCount: number;
  ownedCount: number;
  foreignCount: number;
  /** Desired entries the instance does not hold. */
  missing: string[];
  /** Owned entries the instance holds that are not desired. */
  unexpected: string[];
  inSync: boolean;
  error: string | null;
  errorCode?: string;
}

export interface StatusReport {
  version: 1;
  desired: { count: number; digest: string | null };
  sources: SourceStatus[];
  instances: InstanceDrift[];
  inSync: boolean;
  error: { code: string; message: string } | null;
  exitCode: number;
}

function exitCode(report: Omit<StatusReport, "exitCode">, detailedExitcode: boolean): number {
  if (report.error || report.instances.some((i) => i.error)) return 1;
  return detailedExitcode && !report.inSync ? 2 : 0;
}

/** Live against desired on every instance; reads only, changes nothing, records nothing. */
export async function inspect(
  config: Config,
  deps: Pick<RunDeps, "sources" | "connect" | "discovery" | "progress" | "now">,
  options: { detailedExitcode: boolean },
): Promise<StatusReport> {
  const { kind, map: file, value } = config.haproxy;
  const finish = (partial: Omit<StatusReport, "exitCode" | "version" | "inSync">): StatusReport => {
    const body = { version: 1 as const, ...partial, inSync: !partial.error && partial.instances.every((i) => i.inSync) };
    return { ...body, exitCode: exitCode(body, options.detailedExitcode) };
  };
  const resolution = await resolveDesired(config, deps.sources, deps.now ?? (() => new Date()));
  if (!resolution.ok) {
    return finish({
      desired: { count: 0, digest: null },
      sources: resolution.sources,
      instances: [],
      error: { code: resolution.error.code, message: resolution.error.message },
    });
  }
  const desiredTexts = resolution.desired.entries.map((e) => e.cidr.text);
  const desired = { count: desiredTexts.length, digest: resolution.desired.digest };
  let targets: string[];
  try {
    targets = await resolveTargets(config.haproxy, { ...deps.discovery, timeoutMs: config.haproxy.timeoutMs });
  } catch (err) {
    return finish({ desired, sources: resolution.sources, instances: [], error: { code: errorCode(err), message: message(err) } });
  }
  let done = 0;
  const instances = await mapLimit(targets, config.haproxy.concurrency, async (target): Promise<InstanceDrift> => {
    let instance: RuntimeTarget | undefined;
    try {
      instance = await deps.connect(target);
      const { entries } = await instance.readList(kind, file);
      const plan = computePlan(entries, desiredTexts, { kind, value });
      return {
        target,
        haproxyVersion: instance.version,
        liveCount: entries.length,
        ownedCount: plan.ownedCount,
        foreignCount: plan.foreignCount,
        missing: plan.add,
        unexpected: plan.remove,
        inSync: plan.add.length === 0 && plan.remove.length === 0,
        error: null,
      };
    } catch (err) {
      const failed: InstanceDrift = {
        target,
        haproxyVersion: instance?.version ?? null,
        liveCount: 0,
        ownedCount: 0,
        foreignCount: 0,
        missing: [],
        unexpected: [],
        inSync: false,
        error: message(err),
      };
      failed.errorCode = errorCode(err);
      return failed;
    } finally {
      await instance?.close().catch(() => undefined);
      deps.progress?.({ phase: "read", done: ++done, total: targets.length });
    }
  });
  return finish({ desired, sources: resolution.sources, instances, error: null });
}
