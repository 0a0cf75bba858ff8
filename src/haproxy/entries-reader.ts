import type { ListKind, LiveEntry } from "../model/list.js";
import type { Scrubber } from "../util/secrets.js";
import { type EntryAllowance, listLimit } from "./live-budget.js";
import { protocolError, quoted, type Response } from "./protocol.js";
import { HaproxyError } from "../errors.js";
import { type ReplyReader, TextReader } from "./reply-stream.js";

/** The entries of a list, or HAProxy's refusal to show them. */
export type EntriesReply = { ok: true; entries: LiveEntry[] } | { ok: false; response: Response };

const NEWLINE = 0x0a;
/** The longest line of a list reply: a key and a value, with room to spare. */
export const MAX_LINE_BYTES = 64 * 1024;
/** A refusal starts with its severity, `[3]: `: a short message, read as text. */
const SEVERITY_START = 0x5b;
const REFUSAL_BYTES = 64 * 1024;
/** Map values are few (`travis`, `office`…): each distinct one is kept once, up to this many. */
const SHARED_VALUES = 256;

/**
 * Reads `show map <file>` (`<ptr> <key> <value>` lines) or `show acl <file>`
 * (`<ptr> <pattern>`) as it arrives. While the reply streams in, its lines are
 * only counted against `allowance` and packed as bytes, about 40 a line; the
 * entries are made once the reply is complete. So a list too long fails
 * after each piece, as soon as it passes a limit, and leaves one buffer to
 * free instead of an object per entry: many such lists failing at once do
 * not pile up in memory faster than it is collected.
 */
export class EntriesReader implements ReplyReader<EntriesReply> {
  private packed: Buffer = Buffer.alloc(0);
  private used = 0;
  private lines = 0;
  /** Bytes since the last newline: a line never ends on a peer that is not sending a list. */
  private lineBytes = 0;
  private readonly values = new Map<string, string>();
  private refusal: TextReader | undefined;
  private started = false;

  constructor(
    private readonly kind: ListKind,
    private readonly allowance: EntryAllowance,
    private readonly scrubber?: Scrubber,
  ) {}

  push(bytes: Buffer): void {
    if (!this.started && bytes.length > 0) {
      this.started = true;
      if (bytes[0] === SEVERITY_START) this.refusal = new TextReader(REFUSAL_BYTES);
    }
    if (this.refusal) return this.refusal.push(bytes);
    const before = this.lines;
    this.count(bytes);
    this.allowance.take(this.lines - before);
    this.pack(bytes);
  }

  finish(): EntriesReply {
    if (this.refusal) return { ok: false, response: this.refusal.finish() };
    if (this.lineBytes > 0) this.allowance.take(1);
    const entries: LiveEntry[] = [];
    for (let start = 0; start < this.used;) {
      const end = windowEnd(this.packed, start, this.used);
      // One string per window, its lines sliced from it: far quicker than a string per field, and as compact.
      const text = this.packed.toString("utf8", start, end);
      for (let from = 0, nl = text.indexOf("\n"); from < text.length; nl = text.indexOf("\n", from)) {
        const to = nl === -1 ? text.length : nl;
        if (to > from) entries.push(this.entry(text, from, to));
        from = to + 1;
      }
      start = end;
    }
    this.packed = Buffer.alloc(0);
    return { ok: true, entries };
  }

  /** Lines that hold something: the empty line that ends every reply is no entry. */
  private count(bytes: Buffer): void {
    let from = 0;
    for (let nl = bytes.indexOf(NEWLINE); nl !== -1; nl = bytes.indexOf(NEWLINE, from)) {
      if (this.lineBytes + nl - from > 0) this.lines++;
      this.lineBytes = 0;
      from = nl + 1;
    }
    this.lineBytes += bytes.length - from;
    if (this.lineBytes > MAX_LINE_BYTES)
      throw new HaproxyError("E_HAPROXY_REPLY_TOO_LARGE", undefined, `a line of the ${this.kind} entries grew past ${MAX_LINE_BYTES} bytes`);
  }

  private pack(bytes: Buffer): void {
    if (this.used + bytes.length > this.packed.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(64 * 1024, 2 * (this.used + bytes.length)));
      this.packed.copy(grown, 0, 0, this.used);
      this.packed = grown;
    }
    bytes.copy(this.packed, this.used);
    this.used += bytes.length;
  }

  private entry(text: string, start: number, end: number): LiveEntry {
    const first = text.indexOf(" ", start);
    if (first === -1 || first >= end || first === start || !text.startsWith("0x", start))
      throw protocolError(`unexpected line in ${this.kind} entries: ${this.quotedLine(text, start, end)}`);
    const ref = text.slice(start, first);
    if (this.kind === "acl") return { ref, key: text.slice(first + 1, end) };
    const second = text.indexOf(" ", first + 1);
    if (second === -1 || second >= end) throw protocolError(`map entry without value: ${this.quotedLine(text, start, end)}`);
    return { ref, key: text.slice(first + 1, second), value: this.shared(text.slice(second + 1, end)) };
  }

  /** Only for a message: a line is quoted when it is refused, never made ahead for every entry. */
  private quotedLine(text: string, start: number, end: number): string {
    return quoted(text.slice(start, end), this.scrubber);
  }

  private shared(value: string): string {
    const known = this.values.get(value);
    if (known !== undefined) return known;
    if (this.values.size < SHARED_VALUES) this.values.set(value, value);
    return value;
  }
}

/** A whole `show map`/`show acl` reply's text, read as the stream reader reads it; a refusal is a protocol error here. */
export function parseEntries(kind: ListKind, text: string, scrubber?: Scrubber): LiveEntry[] {
  const reader = new EntriesReader(kind, listLimit(Number.MAX_SAFE_INTEGER), scrubber);
  reader.push(Buffer.from(text, "utf8"));
  const reply = reader.finish();
  if (!reply.ok) throw protocolError(`unexpected line in ${kind} entries: ${quoted(reply.response.text, scrubber)}`);
  return reply.entries;
}

/** Lines are decoded a window at a time, each ending after a newline: no string grows past a few megabytes. */
const WINDOW_BYTES = 4 * 1024 * 1024;

function windowEnd(packed: Buffer, start: number, used: number): number {
  if (used - start <= WINDOW_BYTES) return used;
  const nl = packed.indexOf(NEWLINE, start + WINDOW_BYTES);
  return nl === -1 || nl >= used ? used : nl + 1;
}
