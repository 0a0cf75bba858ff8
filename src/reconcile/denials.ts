import type { Logger } from "pino";
import { clockOf } from "./deps.js";
import type { AuditRecord } from "../audit/record.js";
import type { Config } from "../config/schema.js";
import type { DenialsOutcome, DenialsReport } from "../model/denials.js";
import { classifyDenials, publishedDenied } from "../plan/denial-reasons.js";
import { readDeniedTables, type TableOutcome, tableSummary } from "./denied-tables.js";
import { closePlannedRun, type PlanDeps, planRun } from "./plan-run.js";
import { deniedFactsOf } from "./planned-denial-facts.js";
import { recordsOrNone } from "./explain-history.js";

export interface DenialsDeps extends PlanDeps {
  logger: Logger;
  /** The audit trail's records, oldest first. */
  auditRecords: () => Promise<AuditRecord[]>;
}

export interface DenialsOptions {
  /** The denied clients' stick table and its configured expire. */
  table: { table: string; expireMs: number };
  /** Only clients whose last request is at most this old. */
  sinceMs?: number;
}

/**
 * Who HAProxy turned away, on every instance, and why: the run is planned
 * once, as status plans it, and each instance's table is read over the
 * connection that planning opened. Reads only.
 */
export async function reportDenials(config: Config, deps: DenialsDeps, options: DenialsOptions): Promise<DenialsReport> {
  const now = clockOf(deps)();
  const planned = await planRun(config, deps, { force: false, noGrace: false, probeExposures: false, readWithoutDesired: false }, deps.logger);
  let outcomes: TableOutcome[];
  try {
    outcomes = planned.error ? [] : await readDeniedTables(planned, config, { ...options.table, now }, deps.logger);
  } finally {
    await closePlannedRun(planned);
  }
  const records = planned.error ? [] : await recordsOrNone(deps.auditRecords, deps.logger, "removals are known only from the removal state");
  const facts = deniedFactsOf(planned, config, { outcomes, records, now, ...(options.sinceMs === undefined ? {} : { sinceMs: options.sinceMs }) });
  const denials = classifyDenials(facts);
  const tables = outcomes.map((o) => tableSummary(o, options.table.table));
  const body = { version: 1 as const, denials, tables, error: planned.error };
  return { ...body, outcome: outcomeOf(body) };
}

function outcomeOf(report: Pick<DenialsReport, "denials" | "tables" | "error">): DenialsOutcome {
  if (report.error || report.tables.some((t) => t.error)) return "unknown";
  return publishedDenied(report.denials) ? "published-denied" : "clear";
}
