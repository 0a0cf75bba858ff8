import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import type { DenialLook } from "../model/denials.js";
import { canonicalKey } from "../model/cidr.js";
import { deniedCounts, type RunDenials } from "../model/denials.js";
import type { DenialFacts, Removal } from "../plan/denial-facts.js";
import { classifyDenials, isDeniedRunner } from "../plan/denial-reasons.js";
import { readDeniedTables, type TableOutcome } from "./denied-tables.js";
import type { RuntimeTarget } from "./deps.js";
import { type KnownFacts, type LastRun, unpublishedDenials } from "./last-run.js";
import { readTablesAlone } from "./look-tables.js";
import type { Execution } from "./reconciled.js";
import type { PlannedRun } from "./plan-run.js";
import { deniedFactsOf } from "./planned-denial-facts.js";

/**
 * Who HAProxy turns away once this run is done, read over the run's own
 * connections before they close: each instance's live list is as the run
 * left it, so a runner this run admitted is history (its denials came before
 * its admission), and only a published address the run did not admit (held,
 * or on an instance that failed) is a denied runner. Undefined without
 * `haproxy.denials` or without a desired set; a table that cannot be read
 * leaves its instance out. `keep` is told what the run knew, for the
 * daemon's looks until the next run.
 */
export async function denialsAfterRun(
  planned: PlannedRun,
  execution: Execution,
  config: Config,
  run: { runId: string; startedAt: Date; now: Date; log: Logger; keep?: ((lastRun: LastRun) => void) | undefined },
): Promise<RunDenials | undefined> {
  const table = config.haproxy.denials;
  if (!table || planned.error || !planned.desiredSet) return undefined;
  const outcomes = await readDeniedTables(planned, config, { ...table, now: run.now }, run.log);
  // The trail is not read: this run is the held one, and an admission it does not know is judged by this run's start.
  const facts = deniedFactsOf(planned, config, { outcomes, records: [], now: run.now });
  const known: KnownFacts = {
    published: facts.published,
    live: facts.live.map((live) => ({ ...live, entries: liveAfter(live.entries, execution, live.target) })),
    held: facts.held && { ...facts.held, runId: run.runId },
    removals: [...facts.removals, ...removedBy(execution, run)],
    admissions: facts.admissions,
    exclude: facts.exclude,
  };
  const denials = classifyDenials({ ...known, now: run.now, denied: facts.denied });
  const unpublished = unpublishedDenials(denials);
  run.keep?.({
    at: run.now,
    known,
    targets: planned.instances.map((p) => p.target),
    seen: new Set(unpublished.filter((d) => Date.parse(d.lastSeen) <= run.startedAt.getTime()).map((d) => d.address)),
    unpublished: new Set(unpublished.map((d) => d.address)),
  });
  const runners = denials.filter(isDeniedRunner);
  if (runners.length > 0)
    run.log.warn(
      { addresses: runners.slice(0, 10).map((d) => d.address), count: runners.length },
      "HAProxy is turning away published addresses this run did not admit: see travis-allowlist denials",
    );
  return { runners, counts: deniedCounts(denials) };
}

/** An instance's live keys as the run left it: what it read, with what it applied there. */
function liveAfter(read: ReadonlyArray<string> | null, execution: Execution, target: string): ReadonlyArray<string> | null {
  const applied = execution.instances.find((i) => i.target === target && i.status === "applied");
  if (read === null || !applied) return read;
  const removed = new Set(applied.remove.map(canonicalKey));
  return [...read.filter((key) => !removed.has(key)), ...applied.add.map(canonicalKey)];
}

/** What this run removed: the removal state it loaded does not hold these yet. */
function removedBy(execution: Execution, run: { runId: string; now: Date }): Removal[] {
  const at = run.now.toISOString();
  return execution.instances
    .filter((i) => i.status === "applied")
    .flatMap((i) => i.remove.map((entry) => ({ entry: canonicalKey(entry), at, runId: run.runId, why: "its sources no longer published it" })));
}

/** What a look between runs reads through: a short connection to one instance, a quiet logger, the clock. */
export interface LookDeps {
  connect: (target: string) => Promise<RuntimeTarget>;
  logger: Logger;
  now: () => Date;
}

/**
 * The daemon's look between runs: each instance's table, read alone, judged
 * against what the last run knew. No source is asked and no list is read:
 * a published address that the last run did not leave live on the instance
 * that denied it (or that was denied there after the run) is a denied
 * runner; an unpublished client the last run's tables did not list is a
 * newcomer, which a source may have published since. Either starts a sync,
 * which judges everything afresh: a stale judgement costs one sync.
 */
export async function denialsBetweenRuns(last: LastRun, config: Config, deps: LookDeps, table: { table: string; expireMs: number }): Promise<DenialLook> {
  const outcomes = await readTablesAlone(last.targets, config, deps.connect, { ...table, now: deps.now() }, deps.logger);
  const denied = clientsOf(outcomes);
  if (denied.every((d) => d.clients.length === 0)) return { denials: { runners: [], counts: [] }, newcomers: [] };
  // Judged as of the run: a live address denied later than the run left it live is current, as one never admitted.
  const facts: DenialFacts = { ...last.known, now: last.at, denied };
  const denials = classifyDenials(facts);
  return {
    denials: { runners: denials.filter(isDeniedRunner), counts: deniedCounts(denials) },
    newcomers: unpublishedDenials(denials)
      .map((d) => d.address)
      .filter((address) => !last.seen.has(address)),
  };
}

function clientsOf(outcomes: ReadonlyArray<TableOutcome>): DenialFacts["denied"] {
  return outcomes.flatMap((o) => ("read" in o ? [{ target: o.target, clients: o.read.clients }] : []));
}
