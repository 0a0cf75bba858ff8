import { createConnection, createServer, type Socket } from "node:net";
import { join } from "node:path";

/** A line a client sent to the runtime API, and when it came (epoch ms). */
export interface RecordedLine {
  at: number;
  line: string;
}

export interface RuntimeRecorder {
  /** `unix://…` of the recorder's own socket: the target to configure instead of HAProxy's. */
  target: string;
  /** Every line clients sent, commands and payloads alike, in arrival order. */
  lines: RecordedLine[];
  stop(): Promise<void>;
}

/**
 * A unix socket in front of a real HAProxy's runtime socket: every byte
 * passes through both ways, and each line a client sends is recorded, so a
 * test can tell which commands HAProxy was asked, and when.
 */
export async function startRuntimeRecorder(dir: string, upstreamTarget: string, name = "recorded.sock"): Promise<RuntimeRecorder> {
  const upstream = new URL(upstreamTarget).pathname;
  const path = join(dir, name);
  const lines: RecordedLine[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const haproxy = createConnection(upstream);
    for (const s of [client, haproxy]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    let partial = "";
    client.setEncoding("utf8");
    client.on("data", (text: string) => {
      const parts = (partial + text).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) lines.push({ at: Date.now(), line });
      haproxy.write(text);
    });
    haproxy.pipe(client);
    client.on("end", () => haproxy.end());
    haproxy.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, () => resolve()));
  return {
    target: `unix://${path}`,
    lines,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
