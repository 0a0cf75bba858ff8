import type { DeniedClient } from "../model/denials.js";
import { type EntryClock, parseTableEntry, parseTableHeader, type TableHeader } from "./stick-table.js";

export interface TableReadOptions extends EntryClock {
  /** Clients kept at most: entries past it are counted, not kept, and the read is truncated. */
  limit?: number;
}

/** Why a reply holds no usable list of denied clients; the caller names the instance and table (see tableProblemError). */
export type TableProblem =
  | { kind: "unknown-table" }
  /** Not `ipv6`: an `ip` table drops IPv6 clients, other types hold no clients at all. */
  | { kind: "wrong-type"; type: string }
  | { kind: "no-counter"; stored: string[] }
  | { kind: "unexpected-reply"; line: string };

export interface TableRead {
  header: TableHeader;
  clients: DeniedClient[];
  /** Entry lines read, kept or not. */
  entries: number;
  /** Keys that are no single address, and lines that do not parse: left out, counted. */
  skipped: { notAnAddress: number; malformed: number };
  /** The table is full (HAProxy evicts its oldest entries) or `limit` was reached. */
  truncated: boolean;
  /** Some entry expires later than the configured expire allows: that setting is shorter than the table's, so those clients' lastSeen is shown as now. */
  expOverrun: boolean;
}

export type TableReply = { ok: true; read: TableRead } | { ok: false; problem: TableProblem };

const NO_SUCH_TABLE = /^(?:\[\d\]: )?No such table$/;

/**
 * Reads the reply to `show table NAME` one line at a time, so a table of a
 * million entries never needs to be held as text. Once `settled`, the rest of
 * the reply cannot change the outcome and need not be read.
 */
export class StickTableReader {
  private header: TableHeader | undefined;
  private problem: TableProblem | undefined;
  private readonly clients: DeniedClient[] = [];
  private entries = 0;
  private notAnAddress = 0;
  private malformed = 0;
  private limitReached = false;
  private expOverrun = false;

  constructor(private readonly options: TableReadOptions) {}

  get settled(): boolean {
    return this.problem !== undefined;
  }

  push(line: string): void {
    if (this.problem !== undefined || line === "") return;
    if (this.header === undefined) return this.first(line);
    this.entries++;
    const parsed = parseTableEntry(line, this.options);
    if (parsed.kind === "malformed") this.malformed++;
    else if (parsed.kind === "not-an-address") this.notAnAddress++;
    else if (parsed.kind === "no-counter") this.problem = { kind: "no-counter", stored: parsed.stored };
    else if (this.clients.length >= (this.options.limit ?? Infinity)) this.limitReached = true;
    else {
      this.clients.push(parsed.client);
      this.expOverrun ||= parsed.expOverrun;
    }
  }

  finish(): TableReply {
    if (this.problem !== undefined) return { ok: false, problem: this.problem };
    if (this.header === undefined) return { ok: false, problem: { kind: "unexpected-reply", line: "" } };
    const header = this.header;
    return {
      ok: true,
      read: {
        header,
        clients: this.clients,
        entries: this.entries,
        skipped: { notAnAddress: this.notAnAddress, malformed: this.malformed },
        truncated: this.limitReached || header.used >= header.size,
        expOverrun: this.expOverrun,
      },
    };
  }

  private first(line: string): void {
    if (NO_SUCH_TABLE.test(line)) {
      this.problem = { kind: "unknown-table" };
      return;
    }
    const header = parseTableHeader(line);
    if (header === undefined) this.problem = { kind: "unexpected-reply", line };
    else if (header.type !== "ipv6") this.problem = { kind: "wrong-type", type: header.type };
    else this.header = header;
  }
}

/** The whole reply to `show table NAME` at once. */
export function readShowTable(text: string, options: TableReadOptions): TableReply {
  const reader = new StickTableReader(options);
  for (const line of text.split("\n")) {
    reader.push(line);
    if (reader.settled) break;
  }
  return reader.finish();
}
