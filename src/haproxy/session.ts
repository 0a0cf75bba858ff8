import type { Socket } from "node:net";
import { type ErrorCode, HaproxyError } from "../errors.js";
import { commands, parseResponse, ReplyFramer, type Response } from "./protocol.js";
import { describeTlsError, isTlsFailure, openTransport, type TransportOptions } from "./transport.js";

export interface SessionOptions extends TransportOptions {
  /** Connect timeout, and the longest any one reply may take to arrive in full (not only silence). */
  timeoutMs: number;
  /** The largest reply accepted; a `show map` of a million entries is about 40 MB. */
  maxReplyBytes?: number;
}

export const DEFAULT_MAX_REPLY_BYTES = 128 * 1024 * 1024;

interface Pending {
  command: string;
  resolve: (response: Response) => void;
  reject: (error: Error) => void;
}

/**
 * One interactive (`prompt`) connection to a runtime socket. Commands may be
 * pipelined; replies are framed on the prompt and delivered in order.
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
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("timeout", () => this.fail("E_HAPROXY_TIMEOUT", `no reply within ${options.timeoutMs} ms${this.waitingFor()}`));
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
    const socket = await openTransport(target, options);
    const session = new RuntimeSession(target, socket, options);
    await session.send(commands.prompt);
    await session.send(commands.severity);
    return session;
  }

  /** Sends one command (which may carry a payload) and resolves with its reply. */
  send(command: string): Promise<Response> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ command, resolve, reject });
      this.socket.setTimeout(this.options.timeoutMs);
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
      }, this.options.timeoutMs).unref();
    });
  }

  private waitingFor(): string {
    const first = this.pending[0];
    return first ? ` (waiting for: ${first.command.split("\n")[0]})` : "";
  }

  private startReplyTimer(): void {
    this.stopReplyTimer();
    this.replyTimer = setTimeout(
      () => this.fail("E_HAPROXY_TIMEOUT", `no complete reply within ${this.options.timeoutMs} ms${this.waitingFor()} (a stalled or trickling peer)`),
      this.options.timeoutMs,
    );
  }

  private stopReplyTimer(): void {
    if (this.replyTimer) clearTimeout(this.replyTimer);
    this.replyTimer = undefined;
  }

  private onData(chunk: string): void {
    if (this.failure) return;
    let replied = false;
    for (const raw of this.framer.push(chunk)) {
      const next = this.pending.shift();
      if (!next) {
        this.fail("E_HAPROXY_PROTOCOL", "reply received with no command pending");
        return;
      }
      replied = true;
      next.resolve(parseResponse(raw));
    }
    const limit = this.options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
    if (this.framer.buffered > limit) {
      this.fail("E_HAPROXY_REPLY_TOO_LARGE", `a reply grew past ${limit} bytes${this.waitingFor()}; no list this tool writes is that large`);
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
    if (this.failure) return;
    this.stopReplyTimer();
    this.failure = new HaproxyError(code, this.target, message, { cause });
    this.socket.destroy();
    for (const p of this.pending.splice(0)) p.reject(this.failure);
  }
}
