import { HaproxyError } from "../errors.js";
import type { Scrubber } from "../util/secrets.js";
import type { Response } from "./protocol.js";
import type { ReplyReader } from "./reply-stream.js";
import { parseTableList } from "./stick-table.js";
import { StickTableReader, type TableRead, type TableReadOptions, type TableReply } from "./stick-table-reader.js";
import { tableProblemError } from "./table-problem.js";

/**
 * Clients one run keeps, over all its tables (by default, one table may keep
 * them all): 100,000 addresses are a few tens of megabytes, and far more
 * runners than Travis CI has; past it a read is truncated, the entries still counted.
 */
export const MAX_DENIED_CLIENTS = 100_000;
/** The longest entry line: a key, its expiry and a few counters, with room to spare. */
const MAX_LINE_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/** What a session offers the table reader: a reply streamed to a reader, and one read as text. */
export interface TableSession {
  read<T>(command: string, reader: ReplyReader<T>): Promise<T>;
  send(command: string): Promise<Response>;
}

/** Hands each line of a `show table NAME` reply to StickTableReader as it arrives; once the outcome is settled the rest is only skipped. */
export class StickTableLines implements ReplyReader<TableReply> {
  private readonly table: StickTableReader;
  private partial: Buffer[] = [];
  private partialBytes = 0;

  constructor(options: TableReadOptions) {
    this.table = new StickTableReader(options);
  }

  push(bytes: Buffer): void {
    let from = 0;
    for (let nl = bytes.indexOf(NEWLINE); nl !== -1; nl = bytes.indexOf(NEWLINE, from)) {
      this.line(bytes.subarray(from, nl));
      from = nl + 1;
    }
    this.keep(bytes.subarray(from));
  }

  finish(): TableReply {
    if (this.partialBytes > 0) this.line(Buffer.alloc(0));
    return this.table.finish();
  }

  private line(tail: Buffer): void {
    const text = this.partialBytes === 0 ? tail.toString("utf8") : Buffer.concat([...this.partial, tail]).toString("utf8");
    this.partial = [];
    this.partialBytes = 0;
    if (!this.table.settled) this.table.push(text);
  }

  private keep(rest: Buffer): void {
    if (rest.length === 0) return;
    this.partialBytes += rest.length;
    if (this.partialBytes > MAX_LINE_BYTES)
      throw new HaproxyError("E_HAPROXY_REPLY_TOO_LARGE", undefined, `a line of the stick table grew past ${MAX_LINE_BYTES} bytes`);
    // A copy: the chunk it came from must not stay alive for a few bytes.
    this.partial.push(Buffer.from(rest));
  }
}

/**
 * `show table NAME`, streamed entry by entry. A table HAProxy does not have is
 * named with the tables it has (a bare `show table`); every problem is an error
 * of its own code (see tableProblemError).
 */
export async function readDeniedTable(session: TableSession, table: string, options: TableReadOptions, scrubber?: Scrubber): Promise<TableRead> {
  const reply = await session.read(`show table ${table}`, new StickTableLines({ limit: MAX_DENIED_CLIENTS, ...options }));
  if (reply.ok) return reply.read;
  const known = reply.problem.kind === "unknown-table" ? parseTableList((await session.send("show table")).text) : [];
  throw tableProblemError(reply.problem, { table, known, ...(scrubber ? { scrubber } : {}) });
}
