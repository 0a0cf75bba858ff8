import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { AllowlistError } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Verdict } from "./health.js";

/** What the server answers with, asked afresh on every request. */
export interface Probes {
  metrics: Metrics;
  health: () => Verdict;
  readiness: () => Verdict;
}

export interface ProbeServer {
  url: string;
  close(): Promise<void>;
}

/** Serves /metrics, /healthz and /readyz on metrics.listen. */
export async function startProbeServer(listen: { host: string; port: number }, probes: Probes): Promise<ProbeServer> {
  const server = createServer((req, res) => route(req, res, probes));
  await bind(server, listen);
  return {
    url: urlOf(server, listen),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

function route(req: IncomingMessage, res: ServerResponse, probes: Probes): void {
  const path = (req.url ?? "/").split("?")[0];
  // HEAD is what a probe or a scraper's pre-flight sends: the same answer without the body (node:http drops it).
  const read = req.method === "GET" || req.method === "HEAD";
  if (read && path === "/metrics") return serveMetrics(res, probes.metrics);
  if (read && path === "/readyz") return serveVerdict(res, probes.readiness(), "ready", "not ready");
  if (read && path === "/healthz") return serveVerdict(res, probes.health(), "ok", "unhealthy");
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
}

function serveMetrics(res: ServerResponse, metrics: Metrics): void {
  metrics.text().then(
    (text) => {
      res.writeHead(200, { "content-type": metrics.registry.contentType });
      res.end(text);
    },
    (err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    },
  );
}

function serveVerdict(res: ServerResponse, verdict: Verdict, good: string, bad: string): void {
  res.writeHead(verdict.ok ? 200 : 503, { "content-type": "text/plain" });
  res.end(`${verdict.ok ? good : bad}: ${verdict.reason}\n`);
}

/** Binds metrics.listen; an address that cannot be bound is named, with what to do about it. */
function bind(server: Server, address: { host: string; port: number }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why =
        err.code === "EADDRINUSE"
          ? "is already in use by another process (another daemon, or an exporter)"
          : err.code === "EADDRNOTAVAIL"
            ? "is not an address of this host"
            : err.code === "EACCES"
              ? "needs privileges this process does not have (ports below 1024)"
              : `cannot be bound (${err.message})`;
      reject(
        new AllowlistError(
          "E_METRICS_LISTEN",
          `metrics.listen ${hostPort(address.host, address.port)} ${why}: free it, or set metrics.listen to another host:port`,
          {
            cause: err,
          },
        ),
      );
    });
    server.listen(address.port, address.host, () => resolve());
  });
}

/** The address actually bound: port 0 asks for any free port. */
function urlOf(server: Server, listen: { host: string; port: number }): string {
  const bound = server.address();
  // A TCP listener always reports an AddressInfo; the fallback only keeps the type honest.
  return typeof bound === "object" && bound !== null ? `http://${hostPort(bound.address, bound.port)}` : `http://${hostPort(listen.host, listen.port)}`;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
