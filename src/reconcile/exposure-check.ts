import type { Config } from "../config/schema.js";
import type { LiveEntry, WritableEntry } from "../model/list.js";
import type { Exposure } from "../model/result.js";
import { exposureProbes, judgeProbes, tooBroadEntries } from "../plan/exposure.js";
import type { RuntimeTarget } from "./deps.js";
import { ownershipOf } from "./ownership.js";

/** What the check is asked about one live list. */
export interface ExposureContext {
  removed: ReadonlyArray<string>;
  settled: ReadonlySet<string>;
  live: ReadonlyArray<LiveEntry | WritableEntry>;
  /** The too-broad entries of this same live list, when planning found them already. */
  tooBroad?: ReadonlyArray<Exposure>;
}

/**
 * Who gets in that should not: excluded and removed addresses put to
 * HAProxy's own matcher, and live entries broader than the prefix guards,
 * each or together.
 */
export async function checkExposures(instance: RuntimeTarget, config: Config, context: ExposureContext): Promise<{ exposures: Exposure[]; skipped: number }> {
  const ownership = ownershipOf(config);
  const { probes, skipped } = exposureProbes(config.exclude, context.removed, context.live);
  const answers = await instance.match(
    config.haproxy.kind,
    config.haproxy.map,
    probes.map((p) => p.address),
  );
  return {
    exposures: [
      ...judgeProbes(probes, answers, { ownership, settled: context.settled }),
      ...(context.tooBroad ?? tooBroadEntries(context.live, config.guards, ownership)),
    ],
    skipped,
  };
}
