import type { Socket } from "node:net";
import { type ErrorCode, HaproxyError } from "../errors.js";
import { commands, type Response } from "./protocol.js";
import { ReplyFramer, type ReplyReader, TextReader } from "./reply-stream.js";
import { describeTlsError, isTlsFailure, openTransport, type TransportOptions } from "./transport.js";

/** A point in time (epoch ms) no reply may outlast, whatever `timeoutMs` says, and what it is, for the message. */
export interface Deadline {
  at: number;
  what: string;
}

export interface SessionOptions extends TransportOptions {
  /** Connect timeout, and the longest any one reply may take to arrive in full (not only silence). */
  timeoutMs: number;
  /** The largest reply to a command accepted; lists are read by line and counted in entries instead. */
  maxReplyBytes?: number;
  deadline?: Deadline | undefined;
}

/** `show info`, `show map` (the loaded lists), a refusal: a few kilobytes. A megabyte is far past any of them. */
export const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024;

interface Pending {
  command: string;
  reader: ReplyReader<unknown>;
  /** Resolves the command's promise with what its reader made of the reply. */
  finish: () => void;
  reject: (error: Error) => void;
}

/**
 * One interactive (`prompt`) connection to a runtime socket. Commands may be
 * pipelined; replies are framed on the prompt and delivered in order, each
 * to its reader as it arrives. Each chunk from the socket is read in its own
 * turn of the event loop, so timers (a deadline, runTimeout) fire while a long
 * reply is still arriving.
 */
export class RuntimeSession {
  private readonly framer = new ReplyFramer();
  private readonly pending: Pending[] = [];
  private failure: HaproxyError | undefined;
  /** Runs while a reply is awaited: a peer that trickles bytes forever is as stuck as a silent one. */
  private replyTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly target: string,
    private readonly socket: Socket,
    private readonly options: SessionOptions,
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("timeout", () => this.fail("E_HAPROXY_TIMEOUT", `no reply within ${this.replyWithinMs()} ms${this.waitingFor()}`));
    socket.on("close", () => this.stopReplyTimer());
    socket.on("error", (err: NodeJS.ErrnoException) => {
      // Under TLS 1.3 a refused client certificate arrives after the handshake, with the first reply.
      if (isTlsFailure(err)) this.fail("E_HAPROXY_TLS", `TLS: ${describeTlsError(err)}`, err);
      // A reset or a broken pipe while writing is HAProxy closing the connection (e.g. on a payload past tune.bufsize).
      else if (err.code === "ECONNRESET" || err.code === "EPIPE")
        this.fail("E_HAPROXY_CLOSED", `connection closed by HAProxy (${err.code})${this.waitingFor()}`, err);
      else this.fail("E_HAPROXY_IO", `socket error: ${err.message}`, err);
    });
    socket.on("close", () => this.fail("E_HAPROXY_CLOSED", `connection closed by HAProxy${this.waitingFor()}`));
  }

  static async open(target: string, options: SessionOptions): Promise<RuntimeSession> {
    const socket = await openTransport(target, { ...options, timeoutMs: withinDeadline(options.timeoutMs, options.deadline) });
    const session = new RuntimeSession(target, socket, options);
    await session.send(commands.prompt);
    await session.send(commands.severity);
    return session;
  }

  /** From now on, no reply may outlast `deadline` (the part of the run left for this phase). */
  setDeadline(deadline: Deadline | undefined): void {
    this.options.deadline = deadline;
  }

  /** Sends one command (which may carry a payload) and resolves with its reply, read as text. */
  send(command: string): Promise<Response> {
    return this.read(command, new TextReader(this.options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES));
  }

  /** Sends one command and hands its reply to `reader` as it arrives; resolves with what the reader made of it. */
  read<T>(command: string, reader: ReplyReader<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ command, reader, finish: () => resolve(reader.finish()), reject });
      this.socket.setTimeout(this.replyWithinMs());
      if (this.pending.length === 1) this.startReplyTimer();
      // A payload command already ends its last line; this newline ends the command or the payload.
      this.socket.write(`${command}\n`);
    });
  }

  /** Pipelines several commands on the connection; replies come back in order. */
  sendAll(list: string[]): Promise<Response[]> {
    return Promise.all(list.map((command) => this.send(command)));
  }

  async close(): Promise<void> {
    this.stopReplyTimer();
    if (this.failure || this.socket.destroyed) return;
    this.failure = new HaproxyError("E_HAPROXY_CLOSED", this.target, "session closed");
    await new Promise<void>((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.end(`${commands.quit}\n`);
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, this.replyWithinMs()).unref();
    });
  }

  private waitingFor(): string {
    const first = this.pending[0];
    return first ? ` (waiting for: ${first.command.split("\n")[0]})` : "";
  }

  /** `timeoutMs`, or less when the deadline comes first. */
  private replyWithinMs(): number {
    return withinDeadline(this.options.timeoutMs, this.options.deadline);
  }

  private startReplyTimer(): void {
    this.stopReplyTimer();
    const ms = this.replyWithinMs();
    const cut = ms < this.options.timeoutMs && this.options.deadline ? `, ${this.options.deadline.what}` : "";
    this.replyTimer = setTimeout(
      () => this.fail("E_HAPROXY_TIMEOUT", `no complete reply within ${ms} ms${cut}${this.waitingFor()} (a stalled or trickling peer)`),
      ms,
    );
  }

  private stopReplyTimer(): void {
    if (this.replyTimer) clearTimeout(this.replyTimer);
    this.replyTimer = undefined;
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    let replied = false;
    try {
      for (const part of this.framer.push(chunk)) {
        const next = this.pending[0];
        if (!next) throw new HaproxyError("E_HAPROXY_PROTOCOL", undefined, "reply received with no command pending");
        next.reader.push(part.bytes);
        if (!part.last) continue;
        // Finished before it leaves the queue: a reply its reader cannot make sense of fails this command with the rest.
        next.finish();
        this.pending.shift();
        replied = true;
      }
    } catch (err) {
      if (err instanceof HaproxyError) this.failWith(err.at(this.target));
      else this.fail("E_HAPROXY_PROTOCOL", `reply not understood${this.waitingFor()}`, err);
      return;
    }
    if (this.pending.length === 0) {
      this.socket.setTimeout(0);
      this.stopReplyTimer();
    } else if (replied) {
      this.startReplyTimer();
    }
  }

  private fail(code: ErrorCode, message: string, cause?: unknown): void {
    this.failWith(new HaproxyError(code, this.target, message, { cause }));
  }

  private failWith(error: HaproxyError): void {
    if (this.failure) return;
    this.stopReplyTimer();
    this.failure = error;
    this.socket.destroy();
    for (const p of this.pending.splice(0)) p.reject(error);
  }
}

function withinDeadline(timeoutMs: number, deadline: Deadline | undefined): number {
  return deadline ? Math.max(1, Math.min(timeoutMs, deadline.at - Date.now())) : timeoutMs;
}
