import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { freePorts } from "./ports.js";
import { tempDir } from "./tmp.js";
import { until } from "./wait.js";

export type ListKind = "map" | "acl";

export interface HaproxyOptions {
  kind?: ListKind;
  /** Initial file content, one entry per line (`key value` for maps). */
  entries?: string[];
  /** A directory to run in (the demo keeps its own); a temp dir otherwise. */
  dir?: string;
  /** Where the map or ACL file lives (replicas share one path); in `dir` otherwise. */
  listFile?: string;
  /** Start from the file as it is instead of writing `entries` (a restart after persist). */
  keepListFile?: boolean;
  socketName?: string;
  /** Extra `global` lines, e.g. `tune.bufsize 2048`. */
  global?: string[];
  /** The allowlist lines of the frontend, instead of the README's wiring. */
  rule?: (listFile: string) => string[];
  /** Whole sections after the frontend, e.g. the backend that holds a stick table. */
  sections?: string[];
  /** Run as master and worker (`-W`), so that `reload()` works like a production reload. */
  masterWorker?: boolean;
  /** The HAProxy binary; Debian's by default. */
  bin?: string;
  /** The unix stats socket's access level (`admin` by default), as a user may have written it. */
  level?: "user" | "operator" | "admin";
  /** A mutual-TLS listener in front of the unix stats socket, as the README recommends: server PEM and the CA clients must be signed by. */
  tlsRuntime?: { serverPem: string; ca: string };
}

export interface RunningHaproxy {
  dir: string;
  kind: ListKind;
  listFile: string;
  unixTarget: string;
  tcpTarget: string;
  /** With `tlsRuntime`: `tls://127.0.0.1:PORT`. */
  tlsTarget?: string;
  httpPort: number;
  version: string;
  /** Status code of a GET from the given loopback source address. */
  statusFrom(source: string): Promise<number>;
  /** Raw runtime API command over a fresh non-interactive connection. */
  command(text: string): Promise<string>;
  /** Sends a signal to the HAProxy process (the master with `masterWorker`). */
  signal(name: NodeJS.Signals): void;
  /** A production reload (master-worker): a new worker re-reads the config and the map file. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export const HAPROXY_BIN = process.env.HAPROXY_BIN ?? "haproxy";

/**
 * The binaries the version-sensitive scenarios run on: Debian's, plus a 3.x
 * built from source when `HAPROXY_BIN_3` names one (see the README).
 */
export function haproxyBinaries(): Array<{ bin: string; version: string }> {
  const extra = process.env.HAPROXY_BIN_3;
  return [HAPROXY_BIN, ...(extra ? [extra] : [])].map((bin) => ({ bin, version: haproxyVersion(bin) }));
}

export function haproxyVersion(bin = HAPROXY_BIN): string {
  const out = spawnSync(bin, ["-v"], { encoding: "utf8" });
  return /version (\S+)/.exec(out.stdout ?? "")?.[1] ?? "unknown";
}

/** The haproxy.cfg lines users write, as in the README. */
export function haproxyConfig(o: {
  socket: string;
  tcpPort: number;
  httpPort: number;
  kind: ListKind;
  listFile: string;
  global?: string[];
  rule?: (listFile: string) => string[];
  sections?: string[];
  tls?: { port: number; serverPem: string; ca: string };
  level?: "user" | "operator" | "admin";
}): string {
  const wiring =
    o.kind === "map"
      ? [`http-request deny deny_status 403 unless { src,map_ip(${o.listFile}) -m found }`]
      : [`acl travis src -f ${o.listFile}`, "http-request deny deny_status 403 unless travis"];
  const rule = (o.rule ? o.rule(o.listFile) : wiring).map((line) => `  ${line}`);
  return [
    "global",
    `  stats socket ${o.socket} mode 600 level ${o.level ?? "admin"}`,
    `  stats socket ipv4@127.0.0.1:${o.tcpPort} level admin`,
    "  stats timeout 10s",
    // Without SO_REUSEPORT a port another test process also picked fails the start loudly instead of sharing connections.
    "  noreuseport",
    ...(o.global ?? []).map((line) => `  ${line}`),
    "defaults",
    "  mode http",
    "  timeout client 5s",
    "  timeout server 5s",
    "  timeout connect 5s",
    "frontend allowlisted",
    `  bind 127.0.0.1:${o.httpPort}`,
    ...rule,
    "  http-request return status 200 content-type text/plain string ok",
    ...(o.sections ?? []),
    ...(o.tls
      ? [
          "listen runtime-tls",
          "  mode tcp",
          `  bind 127.0.0.1:${o.tls.port} ssl crt ${o.tls.serverPem} ca-file ${o.tls.ca} verify required`,
          `  server runtime ${o.socket}`,
        ]
      : []),
    "",
  ].join("\n");
}

function waitForSocket(path: string, child: ChildProcess, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`haproxy exited with ${child.exitCode}`));
      if (Date.now() > deadline) return reject(new Error("haproxy did not open its socket in time"));
      if (!existsSync(path)) return setTimeout(attempt, 20);
      const s = connect({ path });
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => setTimeout(attempt, 20));
    };
    attempt();
  });
}

export function statusFrom(port: number, source: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", localAddress: source, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

export function runtimeCommand(socket: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ path: socket });
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => (out += d));
    s.on("end", () => resolve(out));
    s.on("error", reject);
    s.write(`${text}\n`);
  });
}

/** The denied clients' recipe of docs/haproxy.md for a map: each request the allowlist denies is counted in the ipv6 stick table `table`. */
export function deniedClientsRecipe(table = "st_denied", size = "100k"): Pick<HaproxyOptions, "rule" | "sections"> {
  return {
    rule: (listFile) => [
      `acl travis_runner src,map_ip(${listFile}) -m found`,
      `http-request track-sc0 src table ${table} unless travis_runner`,
      "http-request deny deny_status 403 unless travis_runner",
    ],
    sections: [`backend ${table}`, `  stick-table type ipv6 size ${size} expire 24h store http_req_cnt,http_req_rate(1h)`],
  };
}

/** Starts a throwaway HAProxy with a unix and a TCP admin socket and an allowlisted frontend. */
export async function startHaproxy(options: HaproxyOptions = {}): Promise<RunningHaproxy> {
  const kind = options.kind ?? "map";
  const temp = options.dir ? undefined : await tempDir("ta-haproxy-");
  const dir = options.dir ?? (temp?.path as string);
  const socket = join(dir, options.socketName ?? "admin.sock");
  const listFile = options.listFile ?? join(dir, kind === "map" ? "travis.map" : "travis.acl");
  if (!options.keepListFile) await writeFile(listFile, (options.entries ?? []).map((l) => `${l}\n`).join(""));
  const cfg = join(dir, "haproxy.cfg");
  const bin = options.bin ?? HAPROXY_BIN;
  let attempt = 0;
  for (;;) {
    const [tcpPort, httpPort, tlsPort] = (await freePorts(3)) as [number, number, number];
    const tls = options.tlsRuntime ? { port: tlsPort, ...options.tlsRuntime } : undefined;
    await writeFile(
      cfg,
      haproxyConfig({
        socket,
        tcpPort,
        httpPort,
        kind,
        listFile,
        global: options.global,
        rule: options.rule,
        sections: options.sections,
        tls,
        level: options.level,
      }),
    );
    const child = spawn(bin, [...(options.masterWorker ? ["-W"] : []), "-f", cfg, "-db"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      await waitForSocket(socket, child);
      return running({ dir, kind, listFile, socket, tcpPort, httpPort, tlsPort: tls?.port, bin, child, stderr: () => stderr, temp });
    } catch (err) {
      child.kill("SIGKILL");
      // Another process may take a port between our pick and HAProxy's bind; pick again.
      if (/cannot bind|address already in use/i.test(stderr) && ++attempt < 5) continue;
      throw new Error(`${(err as Error).message}: ${stderr}`, { cause: err });
    }
  }
}

function running(o: {
  dir: string;
  kind: ListKind;
  listFile: string;
  socket: string;
  tcpPort: number;
  httpPort: number;
  tlsPort: number | undefined;
  bin: string;
  child: ChildProcess;
  stderr: () => string;
  temp: { remove(): Promise<void> } | undefined;
}): RunningHaproxy {
  const { dir, kind, listFile, socket, tcpPort, httpPort, bin, child, temp } = o;
  return {
    dir,
    kind,
    listFile,
    unixTarget: `unix://${socket}`,
    tcpTarget: `tcp://127.0.0.1:${tcpPort}`,
    ...(o.tlsPort ? { tlsTarget: `tls://127.0.0.1:${o.tlsPort}` } : {}),
    httpPort,
    version: haproxyVersion(bin),
    statusFrom: (source) => statusFrom(httpPort, source),
    command: (text) => runtimeCommand(socket, text),
    signal: (name) => void child.kill(name),
    async reload() {
      const before = o.stderr().length;
      child.kill("SIGUSR2");
      // The master says "Loading success." once the new worker is forked and serving; "Reloading HAProxy" comes before it.
      await until(() => /Loading success/.test(o.stderr().slice(before)), `HAProxy reload (stderr: ${o.stderr().slice(before)})`, 10_000);
      await waitForSocket(socket, child);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await exited;
      }
      await temp?.remove();
    },
  };
}

/** Keys (and values) of a live list, read over the runtime API, sorted. */
export async function liveEntries(h: RunningHaproxy): Promise<string[]> {
  const out = await h.command(`show ${h.kind} ${h.listFile}`);
  return out
    .split("\n")
    .filter((l) => l.startsWith("0x"))
    .map((l) => l.slice(l.indexOf(" ") + 1))
    .sort();
}
