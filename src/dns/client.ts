import { randomInt } from "node:crypto";
import { createSocket, type RemoteInfo } from "node:dgram";
import { isIP, isIPv6, Socket } from "node:net";
import * as packet from "dns-packet";
import { z } from "zod";
import { type DnsFailureCode, DnsError, type DnsQuestion } from "../errors.js";
import { send } from "../http/client.js";
import type { HttpFailure } from "../http/failure.js";
import type { Dispatcher } from "undici";
import type { DohResolver, ResolverAddress, UdpResolver } from "../util/resolver.js";

export type RecordType = "A" | "AAAA";
type QueryType = RecordType | "SRV";

export interface DnsQueryOptions {
  timeoutMs: number;
  /** Further attempts after a timeout; each uses a fresh random ID. */
  retries: number;
  requireDnssec: boolean;
  /** HTTP dispatcher for DNS over HTTPS; undici's global one by default. */
  dispatcher?: Dispatcher;
}

export interface DnsRecord {
  address: string;
  ttl: number;
  /** The owner name of the record at the end of any CNAME chain. */
  name: string;
}

export interface DnsAnswer {
  records: DnsRecord[];
  /** The CNAME chain followed, starting with the asked name. */
  chain: string[];
  authenticated: boolean;
  transport: Transport;
}

const MAX_CNAME_DEPTH = 8;
const EDNS_PAYLOAD = 4096;

/**
 * The fields of a decoded message this client reads (dns-packet's typings
 * omit the flags). What dns-packet makes of bytes from the network is checked
 * against it, not trusted; a record's `data` is checked where it is read, by
 * the record's type.
 */
const decodedRecord = z.object({ type: z.string(), name: z.string(), ttl: z.number().optional(), data: z.unknown() });

const decodedMessage = z.object({
  type: z.enum(["query", "response"]).optional(),
  id: z.number().optional(),
  rcode: z.string().optional(),
  flag_tc: z.boolean().optional(),
  flag_ad: z.boolean().optional(),
  questions: z.array(z.object({ type: z.string(), name: z.string(), class: z.string().optional() })).optional(),
  answers: z.array(decodedRecord).optional(),
});

type DecodedRecord = z.infer<typeof decodedRecord>;
export type Decoded = z.infer<typeof decodedMessage>;

const srvData = z.object({
  target: z.string(),
  port: z.number().int().min(0).max(65_535),
  priority: z.number().int().optional(),
  weight: z.number().int().optional(),
});

type Transport = "udp" | "tcp" | "doh";

interface RawResponse {
  message: Decoded;
  transport: Transport;
}

function sameName(a: string | undefined, b: string): boolean {
  return (a ?? "").replace(/\.$/, "").toLowerCase() === b.replace(/\.$/, "").toLowerCase();
}

function encodeQuery(id: number, name: string, type: QueryType, requireDnssec: boolean): Buffer {
  return packet.encode({
    type: "query",
    id,
    // AD in a query asks the resolver to report whether it validated (RFC 6840 5.7).
    flags: packet.RECURSION_DESIRED | (requireDnssec ? packet.AUTHENTIC_DATA : 0),
    questions: [{ type, name, class: "IN" }],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: EDNS_PAYLOAD, flags: requireDnssec ? packet.DNSSEC_OK : 0 } as packet.Answer],
  });
}

/** A DNS message from bytes off the wire, or undefined for anything malformed; never throws. */
export function decodeMessage(data: Buffer): Decoded | undefined {
  let decoded: unknown;
  try {
    decoded = packet.decode(data);
  } catch {
    return undefined;
  }
  // dns-packet reads a record cut off at the end past the end instead of failing: `1.2.3.undefined`, or `::` for an AAAA.
  if (packet.decode.bytes > data.length) return undefined;
  const parsed = decodedMessage.safeParse(decoded);
  return parsed.success ? parsed.data : undefined;
}

/** An answer counts only when it is a response to exactly our question. */
function matches(message: Decoded, id: number, name: string, type: QueryType): boolean {
  const question = message.questions?.[0];
  return (
    message.type === "response" &&
    message.id === id &&
    message.questions?.length === 1 &&
    question !== undefined &&
    sameName(question.name, name) &&
    question.type === type &&
    (question.class ?? "IN") === "IN"
  );
}

/** No matching answer in time; `malformed` when the resolver's address sent only what does not decode. */
type UdpSilence = "timeout" | "malformed";

function udpExchange(resolver: UdpResolver, name: string, type: QueryType, options: DnsQueryOptions): Promise<Decoded | UdpSilence> {
  const id = randomInt(0, 65536);
  const query = encodeQuery(id, name, type, options.requireDnssec);
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(resolver.host) ? "udp6" : "udp4");
    let undecodable = false;
    const finish = (outcome: Decoded | UdpSilence | Error) => {
      clearTimeout(timer);
      socket.close();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => finish(undecodable ? "malformed" : "timeout"), options.timeoutMs);
    socket.on("error", (err) => finish(new DnsError("E_SOURCE_DNS_NETWORK", resolver.label, { hostname: name, type }, err.message, { cause: err })));
    socket.on("message", (data: Buffer, remote: RemoteInfo) => {
      // Anything from another address, another ID or for another question is ignored: it may be spoofed.
      if (remote.address !== resolver.host || remote.port !== resolver.port) return;
      const message = decodeMessage(data);
      // Garbage is not an answer either (anyone can send a datagram), but it names the failure if nothing better arrives.
      if (!message) undecodable = true;
      else if (matches(message, id, name, type)) finish(message);
    });
    socket.send(query, resolver.port, resolver.host);
  });
}

function tcpExchange(resolver: UdpResolver, name: string, type: QueryType, options: DnsQueryOptions): Promise<Decoded> {
  const id = randomInt(0, 65536);
  const body = encodeQuery(id, name, type, options.requireDnssec);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(body.length);
  const query = Buffer.concat([length, body]);
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let buffer = Buffer.alloc(0);
    const fail = (code: DnsFailureCode, message: string, cause?: unknown) => {
      socket.destroy();
      reject(new DnsError(code, resolver.label, { hostname: name, type }, message, { cause }));
    };
    // The whole exchange, not only each silence: a resolver that trickles bytes is as stuck as a silent one.
    const deadline = setTimeout(() => fail("E_SOURCE_DNS_TIMEOUT", `no answer over TCP within ${options.timeoutMs} ms`), options.timeoutMs);
    socket.on("close", () => clearTimeout(deadline));
    socket.on("error", (err) => fail("E_SOURCE_DNS_NETWORK", `TCP: ${err.message}`, err));
    socket.on("close", () => fail("E_SOURCE_DNS_NETWORK", "TCP connection closed before a complete answer"));
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        const length = buffer.readUInt16BE(0);
        const frame = buffer.subarray(2, 2 + length);
        buffer = buffer.subarray(2 + length);
        const message = decodeMessage(frame);
        if (!message) {
          fail("E_SOURCE_DNS_MALFORMED", "malformed answer over TCP");
          return;
        }
        if (matches(message, id, name, type)) {
          socket.removeAllListeners("close");
          socket.end();
          resolve(message);
          return;
        }
      }
    });
    socket.connect(resolver.port, resolver.host, () => socket.write(query));
  });
}

const DNS_MESSAGE = "application/dns-message";
/** A DNS message is at most 65,535 bytes; anything longer is not an answer. */
const MAX_DNS_MESSAGE = 65_535;

/** How a DoH resolver names each way an HTTP exchange fails; a timeout is retried like a silent UDP resolver. */
function dohFailure(resolver: DohResolver, question: DnsQuestion, timeoutMs: number): (failure: HttpFailure) => DnsError {
  return ({ kind, detail, cause }) => {
    const fail = (code: DnsFailureCode, message: string) => new DnsError(code, resolver.label, question, message, { cause });
    if (kind === "timeout") return fail("E_SOURCE_DNS_TIMEOUT", `no answer within ${timeoutMs} ms`);
    if (kind === "too-large") return fail("E_SOURCE_DNS_MALFORMED", "DNS over HTTPS answer larger than a DNS message can be");
    return fail("E_SOURCE_DNS_NETWORK", kind === "cut-off" ? "DNS over HTTPS: the answer was cut off" : `DNS over HTTPS: ${detail}`);
  };
}

/** RFC 8484: the wire-format query POSTed over HTTPS; the same answer checks as over UDP. */
async function dohAnswer(resolver: DohResolver, name: string, type: QueryType, options: DnsQueryOptions): Promise<Decoded> {
  const id = randomInt(0, 65536);
  const question = { hostname: name, type };
  const response = await send({
    method: "POST",
    url: resolver.url,
    headers: { "content-type": DNS_MESSAGE, accept: DNS_MESSAGE },
    body: encodeQuery(id, name, type, options.requireDnssec),
    timeoutMs: options.timeoutMs,
    dispatcher: options.dispatcher,
    fail: dohFailure(resolver, question, options.timeoutMs),
  });
  const body = await response.read(MAX_DNS_MESSAGE);
  const contentType = response.header("content-type") ?? "";
  if (response.status !== 200 || !contentType.startsWith(DNS_MESSAGE)) {
    throw new DnsError(
      "E_SOURCE_DNS_DOH_HTTP",
      resolver.label,
      question,
      `DNS over HTTPS answered HTTP ${response.status} (${contentType || "no content type"})`,
    );
  }
  const message = decodeMessage(body);
  if (!message) throw new DnsError("E_SOURCE_DNS_MALFORMED", resolver.label, question, "malformed DNS over HTTPS answer");
  if (!matches(message, id, name, type)) {
    throw new DnsError("E_SOURCE_DNS_MISMATCH", resolver.label, question, "DNS over HTTPS answer does not match the question or ID");
  }
  return message;
}

/** A DoH answer, or `timeout` for the caller to try again as it does a silent UDP resolver. */
async function dohExchange(resolver: DohResolver, name: string, type: QueryType, options: DnsQueryOptions): Promise<Decoded | "timeout"> {
  try {
    return await dohAnswer(resolver, name, type, options);
  } catch (err) {
    if (err instanceof DnsError && err.code === "E_SOURCE_DNS_TIMEOUT") return "timeout";
    throw err;
  }
}

async function exchange(resolver: ResolverAddress, name: string, type: QueryType, options: DnsQueryOptions): Promise<RawResponse> {
  let malformed = false;
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    if (resolver.kind === "doh") {
      const answer = await dohExchange(resolver, name, type, options);
      if (answer === "timeout") continue;
      return { message: answer, transport: "doh" };
    }
    const answer = await udpExchange(resolver, name, type, options);
    if (answer === "timeout" || answer === "malformed") {
      malformed ||= answer === "malformed";
      continue;
    }
    if (answer.flag_tc) return { message: await tcpExchange(resolver, name, type, options), transport: "tcp" };
    return { message: answer, transport: "udp" };
  }
  const attempts = `${options.retries + 1} attempts`;
  const question = { hostname: name, type };
  if (malformed) {
    throw new DnsError("E_SOURCE_DNS_MALFORMED", resolver.label, question, `no answer that decodes within ${options.timeoutMs} ms (${attempts})`);
  }
  throw new DnsError("E_SOURCE_DNS_TIMEOUT", resolver.label, question, `no answer within ${options.timeoutMs} ms (${attempts})`);
}

function checkRcode(message: Decoded, resolver: ResolverAddress, question: DnsQuestion): void {
  const rcode = message.rcode ?? "NOERROR";
  if (rcode === "NOERROR") return;
  const code: DnsFailureCode = rcode === "NXDOMAIN" ? "E_SOURCE_DNS_NXDOMAIN" : rcode === "SERVFAIL" ? "E_SOURCE_DNS_SERVFAIL" : "E_SOURCE_DNS_RCODE";
  const meaning = rcode === "NXDOMAIN" ? "name does not exist (NXDOMAIN)" : `resolver answered ${rcode}`;
  throw new DnsError(code, resolver.label, question, meaning);
}

/**
 * Asks one resolver for the A or AAAA records of a name, following CNAME
 * chains. An empty list means the name exists but has no record of that type.
 */
export async function resolveRecords(resolver: ResolverAddress, name: string, type: RecordType, options: DnsQueryOptions): Promise<DnsAnswer> {
  const chain = [name];
  let current = name;
  let authenticated = true;
  let transport: Transport = resolver.kind === "doh" ? "doh" : "udp";
  for (let query = 0; query <= MAX_CNAME_DEPTH; query++) {
    const question = { hostname: current, type };
    const { message, transport: used } = await exchange(resolver, current, type, options);
    if (used !== "udp") transport = used;
    checkRcode(message, resolver, question);
    if (!message.flag_ad) authenticated = false;
    if (options.requireDnssec && !message.flag_ad) {
      throw new DnsError(
        "E_SOURCE_DNS_INSECURE",
        resolver.label,
        question,
        "answer is not DNSSEC-validated (AD bit not set); requireDnssec needs a validating resolver",
      );
    }
    const answers = message.answers ?? [];
    const malformed = (what: string) => new DnsError("E_SOURCE_DNS_MALFORMED", resolver.label, question, what);
    const before = chain.length;
    for (let alias = findAlias(answers, current, malformed); alias !== undefined; alias = findAlias(answers, current, malformed)) {
      current = alias;
      if (chain.some((seen) => sameName(seen, current)) || chain.length > MAX_CNAME_DEPTH) {
        throw new DnsError("E_SOURCE_DNS_CNAME_LOOP", resolver.label, question, `CNAME chain loops or is longer than ${MAX_CNAME_DEPTH} at ${current}`);
      }
      chain.push(current);
    }
    const family = type === "A" ? 4 : 6;
    const records = answers
      .filter((a) => a.type === type && sameName(a.name, current))
      .map((a) => {
        if (typeof a.data !== "string" || isIP(a.data) !== family) throw malformed(`${type} record that is not an IPv${family} address: ${shown(a.data)}`);
        return { address: a.data, ttl: a.ttl ?? 0, name: current };
      });
    // Records, or a plain "no data": done. An alias whose target was not included: ask for the target.
    if (records.length > 0 || chain.length === before) return { records, chain, authenticated, transport };
  }
  throw new DnsError("E_SOURCE_DNS_CNAME_LOOP", resolver.label, { hostname: name, type }, `CNAME chain longer than ${MAX_CNAME_DEPTH}`);
}

function findAlias(answers: DecodedRecord[], owner: string, malformed: (what: string) => DnsError): string | undefined {
  const alias = answers.find((a) => a.type === "CNAME" && sameName(a.name, owner));
  if (alias === undefined) return undefined;
  if (typeof alias.data !== "string") throw malformed(`CNAME record without a name: ${shown(alias.data)}`);
  return alias.data.replace(/\.$/, "");
}

/** Record data from the network, short and escaped, for a message. */
function shown(data: unknown): string {
  return (JSON.stringify(data) ?? typeof data).slice(0, 80);
}

export interface SrvRecord {
  target: string;
  port: number;
  priority: number;
  weight: number;
}

/** SRV records of a name (e.g. a Kubernetes headless service port), with the same answer checks. */
export async function resolveSrv(resolver: ResolverAddress, name: string, options: DnsQueryOptions): Promise<SrvRecord[]> {
  const { message } = await exchange(resolver, name, "SRV", options);
  const question = { hostname: name, type: "SRV" };
  checkRcode(message, resolver, question);
  return (message.answers ?? [])
    .filter((a) => a.type === "SRV" && sameName(a.name, name))
    .map((a) => {
      const data = srvData.safeParse(a.data);
      if (!data.success) throw new DnsError("E_SOURCE_DNS_MALFORMED", resolver.label, question, `SRV record that does not decode: ${shown(a.data)}`);
      const { target, port, priority, weight } = data.data;
      return { target: target.replace(/\.$/, ""), port, priority: priority ?? 0, weight: weight ?? 0 };
    });
}
