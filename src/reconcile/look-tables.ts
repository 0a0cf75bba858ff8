import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { errorCode } from "../errors.js";
import { MAX_DENIED_CLIENTS } from "../haproxy/table-read.js";
import { mapLimit } from "../util/map-limit.js";
import type { TableOutcome, TableToRead } from "./denied-tables.js";
import type { RuntimeTarget } from "./deps.js";
import { message } from "./results.js";

/**
 * Each target's denied clients' table and nothing else, over a short
 * connection of its own (`show info`, `show table`), `haproxy.concurrency` at
 * a time, each keeping its even share of the clients one run keeps. A target
 * that cannot be read is left out of this look with its error; the runs say
 * why loudly, so a look only tells at debug level.
 */
export async function readTablesAlone(
  targets: ReadonlyArray<string>,
  config: Config,
  connect: (target: string) => Promise<RuntimeTarget>,
  table: TableToRead,
  logger: Logger,
): Promise<TableOutcome[]> {
  const share = Math.max(1, Math.floor(MAX_DENIED_CLIENTS / Math.max(1, targets.length)));
  return mapLimit(targets, config.haproxy.concurrency, async (target): Promise<TableOutcome> => {
    let instance: RuntimeTarget | undefined;
    try {
      instance = await connect(target);
      return { target, read: await instance.readTable(table.table, { now: table.now, expireMs: table.expireMs, limit: share }) };
    } catch (err) {
      logger.debug({ err, target }, "the denied clients' table cannot be read");
      return { target, error: { code: errorCode(err), message: message(err) } };
    } finally {
      await instance?.close().catch(() => undefined);
    }
  });
}
