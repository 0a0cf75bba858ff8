import type { Config } from "../config/schema.js";
import { errorCode } from "../errors.js";
import { resolveTargets } from "../haproxy/discover.js";
import type { SourceStatus } from "../model/result.js";
import type { LiveEntry } from "../haproxy/protocol.js";
import { computePlan } from "../plan/plan.js";
import { graceFor } from "./grace.js";
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
  /** Owned entries the instance holds that are not desired (and not in their grace period). */
  unexpected: string[];
  /** Owned entries absent upstream, kept until `removeAt`. */
  pendingRemoval: Array<{ entry: string; removeAt: string }>;
  inSync: boolean;
  error: string | null;
  errorCode?: string;
}

export interface StatusReport {
  version: 1;
  desired: { count: number; digest: string | null };
  sources: SourceStatus[];
  instances: InstanceDrift[];
  /** How often each address came or went over the last day (non-zero only). */
  flaps: Record<string, number>;
  stateNotice: string | null;
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
  deps: Pick<RunDeps, "sources" | "connect" | "discovery" | "progress" | "now" | "removalState">,
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
      flaps: {},
      stateNotice: null,
      error: { code: resolution.error.code, message: resolution.error.message },
    });
  }
  const desiredTexts = resolution.desired.entries.map((e) => e.cidr.text);
  const desired = { count: desiredTexts.length, digest: resolution.desired.digest };
  let targets: string[];
  try {
    targets = await resolveTargets(config.haproxy, { ...deps.discovery, timeoutMs: config.haproxy.timeoutMs });
  } catch (err) {
    return finish({
      desired,
      sources: resolution.sources,
      instances: [],
      flaps: {},
      stateNotice: null,
      error: { code: errorCode(err), message: message(err) },
    });
  }
  // Read every instance first: the grace period is decided over all of them, as a sync would.
  let done = 0;
  type Read = { target: string; version: string | null } & ({ entries: LiveEntry[] } | { error: unknown });
  const reads = await mapLimit(targets, config.haproxy.concurrency, async (target): Promise<Read> => {
    let instance: RuntimeTarget | undefined;
    try {
      instance = await deps.connect(target);
      const { entries } = await instance.readList(kind, file);
      return { target, version: instance.version, entries };
    } catch (err) {
      return { target, version: instance?.version ?? null, error: err };
    } finally {
      await instance?.close().catch(() => undefined);
      deps.progress?.({ phase: "read", done: ++done, total: targets.length });
    }
  });
  const loaded = await deps.removalState.load(file);
  const grace = graceFor(
    config,
    resolution.desired,
    reads.flatMap((r) => ("entries" in r ? [r.entries] : [])),
    loaded.state,
    { noGrace: false, now: (deps.now ?? (() => new Date()))() },
  );
  const keep = new Set(grace.pending.keys());
  const instances = reads.map((r): InstanceDrift => {
    if ("error" in r) {
      const failed: InstanceDrift = {
        target: r.target,
        haproxyVersion: r.version,
        liveCount: 0,
        ownedCount: 0,
        foreignCount: 0,
        missing: [],
        unexpected: [],
        pendingRemoval: [],
        inSync: false,
        error: message(r.error),
      };
      failed.errorCode = errorCode(r.error);
      return failed;
    }
    const plan = computePlan(r.entries, desiredTexts, { kind, value }, keep);
    return {
      target: r.target,
      haproxyVersion: r.version,
      liveCount: r.entries.length,
      ownedCount: plan.ownedCount,
      foreignCount: plan.foreignCount,
      missing: plan.add,
      unexpected: plan.remove,
      pendingRemoval: plan.kept.map((entry) => ({ entry, removeAt: grace.pending.get(entry) ?? "" })),
      inSync: plan.add.length === 0 && plan.remove.length === 0,
      error: null,
    };
  });
  return finish({ desired, sources: resolution.sources, instances, flaps: grace.flaps, stateNotice: loaded.notice, error: null });
}
