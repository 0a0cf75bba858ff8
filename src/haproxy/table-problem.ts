import { HaproxyError } from "../errors.js";
import { Scrubber } from "../util/secrets.js";
import type { TableHeader } from "./stick-table.js";
import type { TableProblem } from "./stick-table-reader.js";

/**
 * The error for a denied-clients table that cannot be read as one: named with
 * the table, and for an unknown one with the tables HAProxy has (from a bare
 * `show table`), so the fix is in the message. A reply is quoted scrubbed
 * of the config's secrets and cut, as every reply this tool quotes. The instance adds its target with `at`.
 */
export function tableProblemError(problem: TableProblem, context: { table: string; known?: ReadonlyArray<TableHeader>; scrubber?: Scrubber }): HaproxyError {
  const { table, known = [] } = context;
  switch (problem.kind) {
    case "unknown-table": {
      const names = known.map((t) => `${t.table} (type ${t.type})`).join(", ");
      const has = names === "" ? "it has no stick tables" : `it has ${names}`;
      return new HaproxyError(
        "E_HAPROXY_TABLE_UNKNOWN",
        undefined,
        `no stick table ${table}: ${has}; set haproxy.denials.table to one of them or add the table`,
      );
    }
    case "wrong-type":
      return new HaproxyError(
        "E_HAPROXY_TABLE_TYPE",
        undefined,
        `stick table ${table} is type ${problem.type}: IPv6 clients would be dropped; declare it with stick-table type ipv6 and reload`,
      );
    case "no-counter": {
      const stored = problem.stored.length === 0 ? "nothing" : problem.stored.join(", ");
      return new HaproxyError(
        "E_HAPROXY_TABLE_COUNTER",
        undefined,
        `stick table ${table} stores ${stored}, neither http_req_cnt nor conn_cnt; add store http_req_cnt (or conn_cnt in mode tcp) and reload`,
      );
    }
    case "unexpected-reply":
      return new HaproxyError(
        "E_HAPROXY_PROTOCOL",
        undefined,
        `unexpected reply to show table ${table}: ${JSON.stringify((context.scrubber ?? new Scrubber()).start(problem.line, 200))}`,
      );
  }
}
