import { parseDuration } from "../config/duration.js";
import type { Config } from "../config/schema.js";
import type { LiveEntry } from "../haproxy/protocol.js";
import { type AbsenceState, decideGrace, type GraceDecision } from "../plan/grace.js";
import { ownedKeys } from "../plan/plan.js";
import type { DesiredSet } from "../sources/desired.js";

/** The grace decision for one map, from the config, the desired set and every instance's live entries. */
export function graceFor(
  config: Config,
  desired: DesiredSet,
  lives: ReadonlyArray<ReadonlyArray<LiveEntry>>,
  state: AbsenceState,
  options: { noGrace: boolean; now: Date },
): GraceDecision {
  const ownership = { kind: config.haproxy.kind, value: config.haproxy.value };
  return decideGrace({
    state,
    desired: new Map(desired.entries.map((e) => [e.cidr.text, [...new Set(e.provenance.map((p) => p.source))]])),
    liveOwned: new Set(lives.flatMap((entries) => ownedKeys(entries, ownership))),
    configSources: new Set(config.sources.map((s) => s.name)),
    exclude: config.exclude,
    removeAfterMs: parseDuration(config.guards.removeAfter) ?? 0,
    noGrace: options.noGrace,
    now: options.now,
  });
}
