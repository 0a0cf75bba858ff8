import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { AllowlistError } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import { FALLBACK_OPEN_FILES, parseSoftOpenFiles, probeConnectionCap } from "./connection-cap.js";
import { ConnectionWatch } from "./connection-watch.js";
import type { Verdict } from "./health.js";

/** What the server answers with, asked afresh on every request. */
export interface Probes {
  metrics: Metrics;
  health: () => Verdict;
  readiness: () => Verdict;
}

/** What one client may take of the daemon: a probe or a scrape is a few hundred bytes each way. */
export const PROBE_DEADLINES = {
  /** The whole request header, from the moment the connection is accepted. */
  headersTimeoutMs: 5_000,
  /** The whole request, header and body. */
  requestTimeoutMs: 10_000,
  /** An idle keep-alive connection between two requests. */
  keepAliveTimeoutMs: 5_000,
  /** A connection on which nothing moves, either way (a client that stops reading its answer). */
  idleTimeoutMs: 10_000,
  /** node looks for connections past the first two deadlines this often (30 s unless told). */
  checkIntervalMs: 1_000,
} as const;

export interface ProbeServerLimits {
  maxConnections: number;
  /** The soft RLIMIT_NOFILE the cap was derived from. */
  openFilesLimit: number;
}

export interface ProbeServer {
  url: string;
  limits: ProbeServerLimits;
  close(): Promise<void>;
}

export interface ProbeServerOptions {
  logger: Logger;
  /** The soft RLIMIT_NOFILE to derive the connection cap from (default: this process's, read from /proc/self/limits). */
  openFilesLimit?: number;
  /** A flood of connections past the cap has ended once none was turned away for this long (default 30 s). */
  floodQuietMs?: number;
}

/**
 * Serves /metrics, /healthz and /readyz on metrics.listen, holding at most
 * `maxConnections` at once and none past its deadlines, so no client can
 * take the file descriptors that a run needs.
 */
export async function startProbeServer(listen: { host: string; port: number }, probes: Probes, options: ProbeServerOptions): Promise<ProbeServer> {
  const openFilesLimit = options.openFilesLimit ?? (await softOpenFiles());
  const limits = { maxConnections: probeConnectionCap(openFilesLimit), openFilesLimit };
  const server = createServer(
    {
      headersTimeout: PROBE_DEADLINES.headersTimeoutMs,
      requestTimeout: PROBE_DEADLINES.requestTimeoutMs,
      keepAliveTimeout: PROBE_DEADLINES.keepAliveTimeoutMs,
      connectionsCheckingInterval: PROBE_DEADLINES.checkIntervalMs,
    },
    (req, res) => route(req, res, probes),
  );
  // Without a listener for "timeout", node destroys the idle socket.
  server.setTimeout(PROBE_DEADLINES.idleTimeoutMs);
  server.maxConnections = limits.maxConnections;
  await bind(server, listen);
  const url = urlOf(server, listen);
  // Registered before any I/O callback can run: the continuation of bind comes first.
  const watch = new ConnectionWatch({ listen: new URL(url).host, ...limits }, options.floodQuietMs ?? 30_000, options.logger);
  server.on("drop", () => watch.dropped());
  return {
    url,
    limits,
    async close() {
      watch.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A slow client would otherwise hold the close until its deadline.
      server.closeAllConnections();
      await closed;
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

/** The soft limit on open files; node has no getrlimit, Linux shows it in /proc. */
async function softOpenFiles(): Promise<number> {
  const text = await readFile("/proc/self/limits", "utf8").catch(() => "");
  return parseSoftOpenFiles(text) ?? FALLBACK_OPEN_FILES;
}
