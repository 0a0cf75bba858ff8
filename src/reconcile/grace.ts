import type { Config } from "../config/schema.js";
import type { LiveEntry } from "../model/list.js";
import type { AbsenceState } from "../model/absence.js";
import { decideGrace, type GraceDecision, groupBySources } from "../plan/grace.js";
import { ownedKeys } from "../plan/plan.js";
import { ownershipOf } from "./ownership.js";
import type { DesiredSet } from "../model/desired.js";

/**
 * The source names of each entry. The common single-source case shares one
 * array per source name, kept for the one desired set it names.
 */
function sourceNamer(): (provenance: ReadonlyArray<{ source: string }>) => string[] {
  const single = new Map<string, string[]>();
  return (provenance) => {
    const [only] = provenance;
    if (provenance.length !== 1 || only === undefined) return [...new Set(provenance.map((p) => p.source))];
    let names = single.get(only.source);
    if (!names) single.set(only.source, (names = [only.source]));
    return names;
  };
}

/** The grace decision for one map, from the config, the desired set and every instance's live entries. */
export function graceFor(
  config: Config,
  desired: DesiredSet,
  lives: ReadonlyArray<ReadonlyArray<LiveEntry>>,
  state: AbsenceState,
  options: { noGrace: boolean; now: Date; stateKnown: boolean; partial: boolean },
): GraceDecision {
  const ownership = ownershipOf(config);
  const desiredKeys = new Set(desired.entries.map((e) => e.cidr.text));
  const sourceNames = sourceNamer();
  return decideGrace({
    state,
    desired: groupBySources(desired.entries.map((e) => ({ key: e.cidr.text, sources: sourceNames(e.provenance) }))),
    desiredKeys,
    liveOwned: new Set(lives.flatMap((entries) => ownedKeys(entries, ownership, desiredKeys))),
    configSources: new Set(config.sources.map((s) => s.name)),
    exclude: config.exclude,
    removeAfterMs: config.guards.removeAfterMs,
    noGrace: options.noGrace,
    now: options.now,
    stateKnown: options.stateKnown,
    partial: options.partial,
  });
}
