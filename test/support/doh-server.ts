import { listenOnLoopback } from "./listen.js";
import { createSocket } from "node:dgram";
import { createServer, type Server } from "node:https";
import { loopbackCertificate } from "./tls.js";

export interface RunningDohServer {
  url: string;
  /** HTTP status to answer with instead of relaying (e.g. 500); null relays. */
  failWith: number | null;
  /** Misbehaviour a real resolver will not show on demand: an endless answer, or one that stops half-way. */
  misbehave: "flood" | "stall" | null;
  requests: number;
  /** The path and query of every request, as received. */
  paths: string[];
  stop(): Promise<void>;
}

/** An RFC 8484 endpoint over HTTPS on loopback that relays each query to a UDP DNS server. */
export async function startDohServer(upstream: { address: string; port: number }): Promise<RunningDohServer> {
  const { key, cert } = loopbackCertificate();
  const state = { failWith: null as number | null, misbehave: null as "flood" | "stall" | null, requests: 0, paths: [] as string[] };
  const server: Server = createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.requests++;
      state.paths.push(req.url ?? "");
      if (state.failWith !== null || req.method !== "POST" || req.headers["content-type"] !== "application/dns-message") {
        res.writeHead(state.failWith ?? 415, { "content-type": "text/plain" });
        res.end("no");
        return;
      }
      if (state.misbehave === "flood") {
        res.writeHead(200, { "content-type": "application/dns-message" });
        const block = Buffer.alloc(64 * 1024);
        const pump = () => {
          while (!res.destroyed && res.write(block));
          if (!res.destroyed) res.once("drain", pump);
        };
        pump();
        return;
      }
      if (state.misbehave === "stall") {
        res.writeHead(200, { "content-type": "application/dns-message", "content-length": "512" });
        res.write(Buffer.alloc(12));
        return;
      }
      const udp = createSocket("udp4");
      udp.once("message", (answer: Buffer) => {
        udp.close();
        res.writeHead(200, { "content-type": "application/dns-message", "content-length": String(answer.length) });
        res.end(answer);
      });
      udp.send(Buffer.concat(chunks), upstream.port, upstream.address);
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `https://127.0.0.1:${port}/dns-query`,
    get failWith() {
      return state.failWith;
    },
    set failWith(value: number | null) {
      state.failWith = value;
    },
    get misbehave() {
      return state.misbehave;
    },
    set misbehave(value: "flood" | "stall" | null) {
      state.misbehave = value;
    },
    get requests() {
      return state.requests;
    },
    get paths() {
      return state.paths;
    },
    stop: close,
  };
}
