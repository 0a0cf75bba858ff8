import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

/**
 * FAKE runtime sockets that misbehave the way a real HAProxy never will on
 * demand: one trickles a reply a byte at a time and never finishes it, one
 * floods an endless reply. Both accept the connection and read what is sent.
 * A third (startGiantMapRuntime) keeps to the protocol and sends a list far
 * longer than any allowlist.
 */
export type Misbehaviour = "trickle" | "flood";

export interface HostileRuntime {
  target: string;
  /** Connections open right now, and accepted in all. */
  open(): number;
  accepted(): number;
  stop(): Promise<void>;
}

export async function startHostileRuntime(dir: string, behaviour: Misbehaviour, name: string = behaviour): Promise<HostileRuntime> {
  const path = join(dir, `${name}.sock`);
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    socket.resume();
    if (behaviour === "trickle") {
      const timer = setInterval(() => socket.write("x"), 20);
      timers.add(timer);
      socket.on("close", () => clearInterval(timer));
    } else {
      const block = "0x55d0 34.66.25.221/32 travis\n".repeat(32 * 1024);
      const pump = () => {
        while (!socket.destroyed && socket.write(block));
        if (!socket.destroyed) socket.once("drain", pump);
      };
      pump();
    }
  });
  await new Promise<void>((resolve) => server.listen(path, () => resolve()));
  return {
    target: `unix://${path}`,
    open: () => sockets.size,
    accepted: () => accepted,
    async stop() {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface GiantMapRuntime {
  target: string;
  /** Bytes of `show map <file>` sent, over all connections. */
  sent(): number;
  stop(): Promise<void>;
}

/**
 * A FAKE runtime socket that speaks the interactive protocol correctly and
 * answers `show map <file>` with a valid list of `bytes` bytes of
 * `<ptr> <address>/32 travis` lines (owned entries; 131,072 distinct ones,
 * repeated, as HAProxy allows), then the prompt. It
 * claims the same count in `show map`'s entry_cnt. No HAProxy would load such
 * a list without its operator noticing; a peer that is not HAProxy can send it.
 */
export async function startGiantMapRuntime(dir: string, o: { file: string; bytes: number; name?: string }): Promise<GiantMapRuntime> {
  const path = join(dir, `${o.name ?? "giant"}.sock`);
  const lineBytes = "0x7f0000000000 10.0.0.0/32 travis\n".length;
  const sockets = new Set<Socket>();
  let sent = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    socket.setEncoding("utf8");
    let buffer = "";
    const reply = (text: string) => socket.write(`${text}\n> `);
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf("\n"); nl !== -1; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === "prompt" || line === "set severity-output number") reply("");
        else if (line === "show info") reply("Name: HAProxy\nVersion: 2.6.12-giant\nPid: 1\nStart_time_sec: 1\n");
        else if (line === "show map")
          reply(
            `# id (file) description\n0 (${o.file}) pattern loaded from file '${o.file}' curr_ver=0 next_ver=0 entry_cnt=${Math.floor(o.bytes / lineBytes)}\n`,
          );
        else if (line === `show map ${o.file}`) streamList(socket, o.bytes, (n) => (sent += n));
        else if (line === "quit") socket.end();
        else reply("[3]: Unknown command.\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, () => resolve()));
  return {
    target: `unix://${path}`,
    sent: () => sent,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Lines of distinct entries, made once and sent over and over: the peer spends its time sending, not formatting. */
const GIANT_BLOCKS: ReadonlyArray<string> = Array.from({ length: 64 }, (_, b) =>
  Array.from({ length: 2048 }, (_, i) => {
    const n = b * 2048 + i;
    return `0x7f${n.toString(16).padStart(10, "0")} 10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}/32 travis\n`;
  }).join(""),
);

/** Writes `bytes` of entry lines as fast as the reader takes them, then the empty line and prompt that end a reply. */
function streamList(socket: Socket, bytes: number, counted: (n: number) => void): void {
  let written = 0;
  let next = 0;
  const pump = () => {
    while (!socket.destroyed && written < bytes) {
      const text = GIANT_BLOCKS[next++ % GIANT_BLOCKS.length] as string;
      written += text.length;
      counted(text.length);
      if (!socket.write(text)) {
        socket.once("drain", pump);
        return;
      }
    }
    if (!socket.destroyed) socket.write("\n> ");
  };
  pump();
}
