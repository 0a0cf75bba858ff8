import { connect, type Socket } from "node:net";

export interface SlowlorisOptions {
  /** How many connections the flood keeps open: each one that closes is opened again at the next tick. */
  connections: number;
  /** How often every open connection sends one more byte of a header that never ends, and the flood tops up. */
  tickMs: number;
  /** Opened again after the server closes them (a real attacker's habit); false opens each slot once. */
  reconnect?: boolean;
}

export interface SlowlorisCounts {
  /** Connections opened, reconnections included. */
  opened: number;
  open: number;
  /** Closed by the server without a byte of reply: turned away at once. */
  refused: number;
  /** Closed by the server after a `408 Request Timeout`: cut at its header deadline. */
  timedOut: number;
}

export interface Slowloris {
  counts(): SlowlorisCounts;
  /** Destroys every connection it holds and waits until each is closed. */
  stop(): Promise<void>;
}

/** The start of a GET whose header goes on one byte at a time, for ever. */
const PARTIAL_REQUEST = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/** Slow clients against a server on loopback: each sends a partial request header and trickles it. */
export function startSlowloris(target: { host: string; port: number }, options: SlowlorisOptions): Slowloris {
  const sockets = new Set<Socket>();
  const counts = { opened: 0, refused: 0, timedOut: 0 };
  let stopped = false;

  const openOne = () => {
    const socket = connect(target.port, target.host, () => socket.write(PARTIAL_REQUEST));
    let reply = "";
    counts.opened++;
    sockets.add(socket);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (reply += chunk));
    // A server that closes with unread bytes in its buffer resets the connection: that is its answer, not a test failure.
    socket.on("error", () => undefined);
    socket.once("close", () => {
      sockets.delete(socket);
      if (!stopped && reply === "") counts.refused++;
      if (reply.startsWith("HTTP/1.1 408")) counts.timedOut++;
    });
  };
  const topUp = (wanted: number) => {
    for (let i = sockets.size; i < wanted; i++) openOne();
  };

  topUp(options.connections);
  const timer = setInterval(() => {
    for (const socket of sockets) if (socket.writable && !socket.connecting) socket.write("a");
    if (options.reconnect !== false) topUp(options.connections);
  }, options.tickMs);

  return {
    counts: () => ({ ...counts, open: sockets.size }),
    async stop() {
      stopped = true;
      clearInterval(timer);
      // A socket leaves the set on "close": whatever is still in it has yet to close.
      await Promise.all(
        [...sockets].map(
          (socket) =>
            new Promise<void>((resolve) => {
              socket.once("close", () => resolve());
              socket.destroy();
            }),
        ),
      );
    },
  };
}
