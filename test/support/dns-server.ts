import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { createServer, type Server, type Socket } from "node:net";
import * as packet from "dns-packet";

/**
 * A small authoritative DNS server on loopback, UDP and TCP on one port, for
 * tests that need what a stock server will not do on demand: truncation,
 * spoofed answers, silence.
 */
/**
 * `cut`: every answer without its last two bytes, as a broken server or middlebox may send it
 * (TCP framing stays consistent); `cut-tcp`: only the answer over TCP.
 */
export type Behaviour = "answer" | "servfail" | "nxdomain" | "refused" | "timeout" | "spoof" | "empty" | "cut" | "cut-tcp";

export interface Zone {
  A?: string[];
  AAAA?: string[];
  SRV?: Array<{ target: string; port: number; priority?: number; weight?: number }>;
  CNAME?: string;
  ttl?: number;
  behaviour?: Behaviour;
  /** Answer only after this long (a slow upstream). */
  delayMs?: number;
}

export interface QueryLog {
  name: string;
  type: string;
  transport: "udp" | "tcp";
  edns: boolean;
  adRequested: boolean;
}

export interface DnsServerOptions {
  zones: Record<string, Zone>;
  /** Answer every UDP query with TC set, whatever its size. */
  truncateUdp?: boolean;
  /** Set the AD bit on answers (a validating resolver would). */
  authenticated?: boolean;
}

export interface RunningDnsServer {
  address: string;
  port: number;
  /** `127.0.0.1:<port>`, the form the config takes. */
  resolver: string;
  zones: Record<string, Zone>;
  queries: QueryLog[];
  stop(): Promise<void>;
}

interface Question {
  name: string;
  type: string;
  class?: string;
}

type Decoded = packet.Packet & { additionals?: Array<{ type: string; udpPayloadSize?: number }>; flags?: number };

function buildAnswer(query: Decoded, options: DnsServerOptions, override?: { id?: number; question?: Question; address?: string }) {
  const question = (override?.question ?? query.questions?.[0]) as Question;
  const zone = options.zones[question.name.toLowerCase()];
  const behaviour = zone?.behaviour ?? "answer";
  const rcode =
    zone === undefined || behaviour === "nxdomain" ? "NXDOMAIN" : behaviour === "servfail" ? "SERVFAIL" : behaviour === "refused" ? "REFUSED" : "NOERROR";
  const ttl = zone?.ttl ?? 60;
  const answers: packet.Answer[] = [];
  if (rcode === "NOERROR" && behaviour !== "empty" && zone) {
    if (zone.CNAME) {
      answers.push({ type: "CNAME", name: question.name, ttl, data: zone.CNAME } as packet.Answer);
      const target = options.zones[zone.CNAME.toLowerCase()];
      for (const data of target?.[question.type as "A" | "AAAA"] ?? []) answers.push({ type: question.type, name: zone.CNAME, ttl, data } as packet.Answer);
    }
    if (question.type === "SRV") {
      for (const srv of zone.SRV ?? []) answers.push({ type: "SRV", name: question.name, ttl, data: { priority: 0, weight: 0, ...srv } } as packet.Answer);
    } else {
      const records = override?.address ? [override.address] : (zone[question.type as "A" | "AAAA"] ?? []);
      for (const data of records) answers.push({ type: question.type, name: question.name, ttl, data } as packet.Answer);
    }
  }
  const rcodeBits = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 }[rcode];
  return {
    type: "response" as const,
    id: override?.id ?? query.id,
    flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (options.authenticated ? packet.AUTHENTIC_DATA : 0) | rcodeBits,
    questions: [question],
    answers,
  };
}

/** Encodes within `limit` bytes, dropping answers and setting TC as a real server does. */
function encodeWithin(response: ReturnType<typeof buildAnswer>, limit: number, forceTruncate: boolean): Buffer {
  const full = packet.encode(response as packet.Packet);
  if (full.length <= limit && !forceTruncate) return full;
  const truncated = { ...response, flags: response.flags | packet.TRUNCATED_RESPONSE };
  const encode = (n: number) => packet.encode({ ...truncated, answers: response.answers.slice(0, n) } as packet.Packet);
  // The most answers that fit, found by bisection (large answers would be slow one by one).
  let low = 0;
  let high = response.answers.length - (forceTruncate ? 1 : 0);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (encode(mid).length <= limit) low = mid;
    else high = mid - 1;
  }
  return encode(Math.max(low, 0));
}

const cut = (message: Buffer, behaviour: Behaviour | undefined, transport: "udp" | "tcp") =>
  behaviour === "cut" || (behaviour === "cut-tcp" && transport === "tcp") ? message.subarray(0, message.length - 2) : message;

export async function startDnsServer(options: DnsServerOptions): Promise<RunningDnsServer> {
  const queries: QueryLog[] = [];
  const udp: UdpSocket = createSocket("udp4");
  const stray: UdpSocket = createSocket("udp4");
  const tcpSockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const log = (query: Decoded, transport: "udp" | "tcp") => {
    const q = query.questions?.[0];
    const opt = query.additionals?.find((a) => a.type === "OPT");
    queries.push({
      name: q?.name ?? "",
      type: q?.type ?? "",
      transport,
      edns: opt !== undefined,
      adRequested: ((query.flags ?? 0) & packet.AUTHENTIC_DATA) !== 0,
    });
  };

  udp.on("message", (data: Buffer, remote: RemoteInfo) => {
    let query: Decoded;
    try {
      query = packet.decode(data) as Decoded;
    } catch {
      return;
    }
    log(query, "udp");
    const question = query.questions?.[0] as Question;
    const behaviour = options.zones[question.name.toLowerCase()]?.behaviour;
    if (behaviour === "timeout") return;
    const opt = query.additionals?.find((a) => a.type === "OPT");
    const limit = opt?.udpPayloadSize ?? 512;
    const send = (sock: UdpSocket, buf: Buffer) => sock.send(buf, remote.port, remote.address);
    if (behaviour === "spoof") {
      const poison = "6.6.6.6";
      send(udp, packet.encode(buildAnswer(query, options, { id: (query.id ?? 0) ^ 0x5a5a, address: poison }) as packet.Packet));
      send(udp, packet.encode(buildAnswer(query, options, { question: { ...question, name: `evil.${question.name}` }, address: poison }) as packet.Packet));
      send(stray, packet.encode(buildAnswer(query, options, { address: poison }) as packet.Packet));
      later(50, () => send(udp, encodeWithin(buildAnswer(query, options), limit, options.truncateUdp ?? false)));
      return;
    }
    const answer = () => send(udp, cut(encodeWithin(buildAnswer(query, options), limit, options.truncateUdp ?? false), behaviour, "udp"));
    const delay = options.zones[question.name.toLowerCase()]?.delayMs;
    if (delay) later(delay, answer);
    else answer();
  });

  const tcp: Server = createServer((socket) => {
    tcpSockets.add(socket);
    socket.on("close", () => tcpSockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        const frame = buffer.subarray(2, 2 + buffer.readUInt16BE(0));
        buffer = buffer.subarray(2 + frame.length);
        const query = packet.decode(frame) as Decoded;
        log(query, "tcp");
        if (options.zones[query.questions?.[0]?.name.toLowerCase() ?? ""]?.behaviour === "timeout") continue;
        const body = cut(
          packet.encode(buildAnswer(query, options) as packet.Packet),
          options.zones[query.questions?.[0]?.name.toLowerCase() ?? ""]?.behaviour,
          "tcp",
        );
        const length = Buffer.alloc(2);
        length.writeUInt16BE(body.length);
        socket.write(Buffer.concat([length, body]));
      }
    });
  });

  const port = await new Promise<number>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(0, "127.0.0.1", () => resolve(udp.address().port));
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, "127.0.0.1", () => resolve());
  });
  await new Promise<void>((resolve) => stray.bind(0, "127.0.0.1", () => resolve()));

  return {
    address: "127.0.0.1",
    port,
    resolver: `127.0.0.1:${port}`,
    zones: options.zones,
    queries,
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const s of tcpSockets) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => stray.close(() => r()));
    },
  };
}
