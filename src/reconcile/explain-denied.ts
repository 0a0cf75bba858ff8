import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import type { DeniedClient } from "../model/denials.js";
import type { ErrorSummary } from "../model/result.js";
import { readDeniedTables } from "./denied-tables.js";
import type { ExplainInstance } from "./explain-report.js";
import type { PlannedRun } from "./plan-run.js";

/** One instance's table, only the addresses asked about kept; or why it was not read. */
export type DeniedHere = { clients: ReadonlyMap<string, DeniedClient> } | { error: ErrorSummary };

/**
 * Each instance's denied clients' table, over the connection the planned run
 * opened (the caller closes it), keeping only the addresses explain was asked
 * about (bare and canonical, as the table's keys are read).
 */
export async function deniedForAddresses(
  planned: PlannedRun,
  config: Config,
  table: { table: string; expireMs: number; now: Date },
  addresses: ReadonlyArray<string>,
  logger: Logger,
): Promise<ReadonlyMap<string, DeniedHere>> {
  const asked = new Set(addresses);
  const outcomes = await readDeniedTables(planned, config, table, logger);
  return new Map(
    outcomes.map((o): [string, DeniedHere] =>
      "error" in o
        ? [o.target, { error: o.error }]
        : [o.target, { clients: new Map(o.read.clients.filter((c) => asked.has(c.address)).map((c) => [c.address, c])) }],
    ),
  );
}

/** What one instance's table says of one address. */
export function deniedAt(here: DeniedHere | undefined, address: string): Required<Pick<ExplainInstance, "denied" | "deniedError">> {
  if (here === undefined) return { denied: null, deniedError: null };
  if ("error" in here) return { denied: null, deniedError: here.error };
  const client = here.clients.get(address);
  return { denied: client ? { requests: client.requests, lastSeen: new Date(client.lastSeenMs).toISOString() } : null, deniedError: null };
}
