import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { findDuplicates } from "../plan/plan.js";
import { mapLimit } from "../util/map-limit.js";
import { applyInstance } from "./apply.js";
import type { RunDeps } from "./deps.js";
import type { ChangingRun, InstanceRun } from "./instance-run.js";
import { ownershipOf } from "./ownership.js";

/** What every change of a run is applied towards: the desired set, and the entries kept through their grace period. */
export interface ApplyTarget {
  desired: string[];
  /** Each kept entry, with when it will go. */
  pending: ReadonlyMap<string, string>;
}

/** Writes planned changes to the instances. */
export interface Applier {
  /** Commits each change, at most `haproxy.concurrency` at once, reads it back and persists it; a failure is that instance's result, never thrown. */
  applyAll(changes: ReadonlyArray<ChangingRun>, target: ApplyTarget): Promise<InstanceRun[]>;
}

/** The applier of one run, on the instances' runtime API. */
export function runtimeApplier(config: Config, context: { force: boolean; log: Logger; progress: RunDeps["progress"] }): Applier {
  const { force, log, progress } = context;
  return {
    async applyAll(changes, target) {
      const persisted = new Map<string, Promise<void>>();
      let applied = 0;
      return mapLimit(changes, config.haproxy.concurrency, async ({ planned: p }) => {
        const result = await applyInstance(p.instance, p.plan, p.live.snapshot, {
          config,
          desired: target.desired,
          force,
          log,
          pending: target.pending,
          persisted,
        });
        // Once applied, the list holds the planned content: only duplicates through foreign entries can remain.
        const duplicates =
          result.status === "applied" && config.haproxy.kind === "map" ? findDuplicates(p.plan.content, ownershipOf(config)) : (p.result.duplicates ?? []);
        const run = { planned: p, result: { ...result, unexpected: p.result.unexpected ?? [], vanished: p.result.vanished ?? [], duplicates, exposures: [] } };
        progress?.({ phase: "apply", done: ++applied, total: changes.length });
        return run;
      });
    },
  };
}
