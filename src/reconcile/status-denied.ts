import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { CidrIndex } from "../model/cidr-index.js";
import { PUBLISHED_DENIAL_REASONS } from "../model/denials.js";
import type { InstanceDrift } from "../model/status.js";
import { classifyDenials } from "../plan/denial-reasons.js";
import { readDeniedTables, type TableOutcome } from "./denied-tables.js";
import type { PlannedRun } from "./plan-run.js";
import { deniedFactsOf } from "./planned-denial-facts.js";

export type DeniedOnInstance = Required<Pick<InstanceDrift, "denied" | "deniedError">>;

/**
 * Each instance's denied clients, over the connection the planned run opened
 * (the caller closes it): how many its table lists, and how many of them a
 * source publishes, judged as `denials` judges them from the same planned run.
 * The audit trail is not read: it names runs, and only the count is shown here.
 */
export async function deniedPerInstance(
  planned: PlannedRun,
  config: Config,
  table: { table: string; expireMs: number; now: Date },
  logger: Logger,
): Promise<ReadonlyMap<string, DeniedOnInstance>> {
  const outcomes = await readDeniedTables(planned, config, table, logger);
  const publishedOn = planned.desiredSet ? publishedCounts(planned, config, outcomes, table.now) : null;
  return new Map(
    outcomes.map((o): [string, DeniedOnInstance] =>
      "error" in o
        ? [o.target, { denied: null, deniedError: o.error }]
        : [
            o.target,
            {
              denied: { clients: o.read.clients.length, published: publishedOn?.get(o.target) ?? (publishedOn ? 0 : null), truncated: o.read.truncated },
              deniedError: null,
            },
          ],
    ),
  );
}

/**
 * Per instance, how many of the clients it denied a source publishes and it
 * still turns away (not admitted there since). Only clients the desired set
 * covers can be `stale` or `held`, so only they are classified: a table of
 * 100,000 strangers is counted without judging each one.
 */
function publishedCounts(planned: PlannedRun, config: Config, outcomes: ReadonlyArray<TableOutcome>, now: Date): Map<string, number> {
  const desired = new CidrIndex((planned.desiredSet?.entries ?? []).map((e) => [e.cidr.text, true] as const));
  const candidates = outcomes.map((o) =>
    "read" in o ? { ...o, read: { ...o.read, clients: o.read.clients.filter((c) => desired.covering(c.address) !== undefined) } } : o,
  );
  const counts = new Map<string, number>();
  for (const denial of classifyDenials(deniedFactsOf(planned, config, { outcomes: candidates, records: [], now }))) {
    if (!PUBLISHED_DENIAL_REASONS.has(denial.reason)) continue;
    for (const on of denial.instances) if (!on.admitted) counts.set(on.target, (counts.get(on.target) ?? 0) + 1);
  }
  return counts;
}
