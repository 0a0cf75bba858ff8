import type { Config } from "../config/schema.js";
import type { LiveEntry, WritableEntry } from "../model/list.js";
import type { Exposure } from "../model/result.js";
import { exposureProbes, judgeProbes, tooBroadEntries } from "../plan/exposure.js";
import type { RuntimeTarget } from "./deps.js";
import { ownershipOf } from "./ownership.js";

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
