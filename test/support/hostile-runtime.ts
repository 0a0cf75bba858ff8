import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

/**
 * FAKE runtime sockets that misbehave the way a real HAProxy never will on
 * demand: one trickles a reply a byte at a time and never finishes it, one
 * floods an endless reply. Both accept the connection and read what is sent.
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
