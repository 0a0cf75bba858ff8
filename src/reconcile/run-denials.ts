import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { canonicalKey } from "../model/cidr.js";
import { deniedCounts, type RunDenials } from "../model/denials.js";
import { classifyDenials, isDeniedRunner } from "../plan/denial-reasons.js";
import { type DenialsDeps, reportDenials } from "./denials.js";
import { readDeniedTables } from "./denied-tables.js";
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
 * leaves its instance out.
 */
export async function denialsAfterRun(
  planned: PlannedRun,
  execution: Execution,
  config: Config,
  run: { runId: string; now: Date; log: Logger },
): Promise<RunDenials | undefined> {
  const table = config.haproxy.denials;
  if (!table || planned.error || !planned.desiredSet) return undefined;
  const outcomes = await readDeniedTables(planned, config, { ...table, now: run.now }, run.log);
  // The trail is not read: this run is the held one, and an admission it does not know is judged by this run's start.
  const facts = deniedFactsOf(planned, config, { outcomes, records: [], now: run.now });
  const denials = classifyDenials({
    ...facts,
    held: facts.held && { ...facts.held, runId: run.runId },
    live: facts.live.map((live) => ({ ...live, entries: liveAfter(live.entries, execution, live.target) })),
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

/**
 * The daemon's look between runs: the `denials` report as the tables show it
 * now, the one way the command judges it; undefined when it judged nothing
 * (the sources failed), so the last reading stands.
 */
export async function denialsNow(config: Config, deps: DenialsDeps, table: { table: string; expireMs: number }): Promise<RunDenials | undefined> {
  const report = await reportDenials(config, deps, { table });
  if (report.error) return undefined;
  return { runners: report.denials.filter(isDeniedRunner), counts: deniedCounts(report.denials) };
}
