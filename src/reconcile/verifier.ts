import { leftAs } from "../model/left-state.js";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { HaproxyError } from "../errors.js";
import { mapLimit } from "../util/map-limit.js";
import { type CheckedRun, type InstanceRun, isChecked, withUpdated } from "./instance-run.js";
import { checkExposures } from "./exposure-check.js";
import type { PlannedRun } from "./plan-run.js";
import { failedResult, message } from "./results.js";

/** Asks the instances who they admit once a run's changes are made. */
export interface Verifier {
  /** HAProxy's matcher on every instance whose plan stands (applied, in sync or held): anything admitted that should not be is an exposure. */
  verify(planned: PlannedRun, runs: ReadonlyArray<InstanceRun>): Promise<InstanceRun[]>;
}

/** The verifier of one run, on HAProxy's own matcher. */
export function matcherVerifier(config: Config, log: Logger): Verifier {
  return {
    async verify(planned, runs) {
      const settled = new Set([...(planned.desiredSet?.entries ?? []).map((e) => e.cidr.text), ...(planned.grace?.pending.keys() ?? [])]);
      const context = { config, log, settled, earlier: planned.removedRecently };
      const checked = await mapLimit(runs.filter(isChecked), config.haproxy.concurrency, (r) => checkRun(r, context));
      return withUpdated(runs, checked);
    },
  };
}

interface CheckContext {
  config: Config;
  log: Logger;
  /** Desired and kept entries: what an instance may admit. */
  settled: ReadonlySet<string>;
  /** Entries removed by earlier runs, still worth asking about. */
  earlier: string[];
}

async function checkRun(r: CheckedRun, { config, log, settled, earlier }: CheckContext): Promise<InstanceRun> {
  const { planned: p } = r;
  const applied = r.result.status === "applied";
  try {
    const checked = await checkExposures(p.instance, config, {
      removed: applied ? [...r.result.remove, ...earlier] : earlier,
      settled,
      live: applied ? p.plan.content : p.live.entries,
    });
    if (checked.exposures.length > 0) {
      log.warn(
        { target: p.target, exposures: checked.exposures.slice(0, 20) },
        `${checked.exposures.length} exposure(s) on ${p.target}: admitted although they should not be`,
      );
    }
    return { planned: p, result: { ...r.result, exposures: checked.exposures, ...(checked.skipped > 0 ? { uncheckedRemovals: checked.skipped } : {}) } };
  } catch (err) {
    log.error({ err, target: p.target }, "could not ask the instance who it admits after the apply");
    const error = new HaproxyError("E_EXPOSURE_CHECK", p.target, `the exposure check failed: ${message(err)}`, { cause: err });
    const left = applied ? leftAs("changed", "changed and verified; who it admits could not be checked") : leftAs("unchanged", "unchanged");
    return { planned: p, result: failedResult(p.target, error, left, r.result) };
  }
}
