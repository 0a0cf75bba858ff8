import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { errorCode } from "../errors.js";
import type { TableRead } from "../haproxy/stick-table-reader.js";
import { MAX_DENIED_CLIENTS } from "../haproxy/table-read.js";
import type { TableSummary } from "../model/denials.js";
import type { ErrorSummary } from "../model/result.js";
import { mapLimit } from "../util/map-limit.js";
import type { PlannedRun } from "./plan-run.js";
import { message } from "./results.js";

/** The denied clients' stick table, its configured expire, and the time its entries' expiries are reckoned from. */
export interface TableToRead {
  table: string;
  expireMs: number;
  now: Date;
}

/** One instance's table as read, or why it was not. */
export type TableOutcome = { target: string; read: TableRead } | { target: string; error: ErrorSummary };

/**
 * Each instance's table, over the connection the planned run opened (the
 * caller closes it), `haproxy.concurrency` at a time, each keeping its even
 * share of the clients one run keeps (MAX_DENIED_CLIENTS), so that many
 * instances together hold no more than one. An instance that could not be
 * planned is a table that was not read, with the instance's own error.
 */
export async function readDeniedTables(planned: PlannedRun, config: Config, table: TableToRead, logger: Logger): Promise<TableOutcome[]> {
  const share = Math.max(1, Math.floor(MAX_DENIED_CLIENTS / Math.max(1, planned.instances.length)));
  return mapLimit(planned.instances, config.haproxy.concurrency, async (p): Promise<TableOutcome> => {
    if (p.kind === "unreached" || p.kind === "failed") {
      return { target: p.target, error: { code: p.result.errorCode ?? "E_NOT_CONTACTED", message: p.result.error ?? "the instance was not read" } };
    }
    try {
      const read = await p.instance.readTable(table.table, { now: table.now, expireMs: table.expireMs, limit: share });
      warnAboutPart(p.target, read, share, logger);
      return { target: p.target, read };
    } catch (err) {
      logger.error({ err, target: p.target }, "the denied clients' table cannot be read");
      return { target: p.target, error: { code: errorCode(err), message: message(err) } };
    }
  });
}

/** A table that shows only part of who was denied, or whose lastSeen would be wrong: a person reading the result should know. */
function warnAboutPart(target: string, read: TableRead, share: number, logger: Logger): void {
  if (read.truncated && read.clients.length >= share)
    logger.warn(
      { target, entries: read.entries, kept: read.clients.length },
      `more than ${share} denied clients on one instance: only the first are classified`,
    );
  else if (read.truncated)
    logger.warn({ target, size: read.header.size }, "the denied clients' table is full: HAProxy evicts its oldest entries, so this is a recent sample");
  if (read.expOverrun)
    logger.warn({ target }, "an entry expires later than haproxy.denials.expire allows: set it to the table's expire, or lastSeen is shown too late");
}

/** How much of one instance's table was read, or why it was not. */
export function tableSummary(o: TableOutcome, table: string): TableSummary {
  if ("error" in o) return { target: o.target, table, entries: 0, truncated: false, skipped: 0, error: o.error };
  const { entries, truncated, skipped } = o.read;
  return { target: o.target, table, entries, truncated, skipped: skipped.notAnAddress + skipped.malformed, error: null };
}
