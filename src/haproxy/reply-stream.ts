import { HaproxyError } from "../errors.js";
import { parseResponse, type Response } from "./protocol.js";

const PROMPT = Buffer.from("\n> ");
const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

/** A piece of the reply being received; `last` when the prompt that ends the reply followed it. */
export interface ReplyPart {
  bytes: Buffer;
  last: boolean;
}

/**
 * Splits the interactive stream into the pieces of each reply, ending before
 * "\n> ". Pieces are handed on as they arrive, so a long reply is never held
 * whole; only the one or two bytes where a prompt may begin wait for the next chunk.
 */
export class ReplyFramer {
  private held: Buffer = EMPTY;

  push(chunk: Buffer): ReplyPart[] {
    const parts: ReplyPart[] = [];
    let data = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    for (let at = data.indexOf(PROMPT); at !== -1; at = data.indexOf(PROMPT)) {
      parts.push({ bytes: data.subarray(0, at + 1), last: true });
      data = data.subarray(at + PROMPT.length);
    }
    const keep = promptStart(data);
    if (data.length > keep) parts.push({ bytes: data.subarray(0, data.length - keep), last: false });
    // A copy: the few held bytes must not keep the whole chunk alive.
    this.held = keep > 0 ? Buffer.from(data.subarray(data.length - keep)) : EMPTY;
    return parts;
  }
}

/** How many of the last bytes could be the start of a prompt split across chunks. */
function promptStart(data: Buffer): number {
  const n = data.length;
  if (n >= 2 && data[n - 2] === NEWLINE && data[n - 1] === PROMPT[1]) return 2;
  return n >= 1 && data[n - 1] === NEWLINE ? 1 : 0;
}

/** What reads one reply as it arrives; it may throw to end the connection (a reply too long, or not understood). */
export interface ReplyReader<T> {
  push(bytes: Buffer): void;
  finish(): T;
}

/** A reply read as text, up to `limit` bytes: a command's answer is short, only lists are long (and read by line). */
export class TextReader implements ReplyReader<Response> {
  private readonly parts: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly limit: number) {}

  push(bytes: Buffer): void {
    this.bytes += bytes.length;
    if (this.bytes > this.limit)
      throw new HaproxyError("E_HAPROXY_REPLY_TOO_LARGE", undefined, `a reply grew past ${this.limit} bytes; no answer to this command is that large`);
    this.parts.push(Buffer.from(bytes));
  }

  finish(): Response {
    return parseResponse(Buffer.concat(this.parts).toString("utf8"));
  }
}
