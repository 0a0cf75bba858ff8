import { parseCidr, parseIpv4Address } from "../model/cidr.js";
import type { DeniedClient } from "../model/denials.js";

/** `# table: st_denied, type: ipv6, size:102400, used:2`, the first line of `show table NAME` and each line of `show table`. */
export interface TableHeader {
  table: string;
  type: string;
  size: number;
  used: number;
}

/** What a line of `show table NAME` needs beyond its own text: the table's configured `expire` (the runtime API does not print it) and the clock. */
export interface EntryClock {
  now: Date;
  expireMs: number;
}

/**
 * One entry line: a client; a key that is no single address; an entry storing
 * neither counter (`stored` names what it does store); or text that does not
 * parse. `expOverrun`: `exp` was longer than `expireMs`, so the configured
 * expire is shorter than the table's.
 */
export type TableEntryLine =
  | { kind: "client"; client: DeniedClient; expOverrun: boolean }
  | { kind: "not-an-address"; key: string }
  | { kind: "no-counter"; stored: string[] }
  | { kind: "malformed" };

const HEADER = /^# table: ([^,\s]+), type: ([^,\s]+), size:(\d{1,15}), used:(\d{1,15})$/;
const POINTER = /^0x[0-9a-fA-F]+:$/;
const COUNT = /^\d{1,15}$/;
/** Fields every entry carries; whatever else it carries is what the table stores. */
const ENTRY_FIELDS: ReadonlySet<string> = new Set(["key", "use", "exp", "shard"]);
const MAPPED_PREFIX = "::ffff:";
/** Requests for `mode http` tables, connections for `mode tcp` ones. */
const COUNTERS = ["http_req_cnt", "conn_cnt"] as const;

export function parseTableHeader(line: string): TableHeader | undefined {
  const match = HEADER.exec(line);
  if (!match) return undefined;
  return { table: match[1] as string, type: match[2] as string, size: Number(match[3]), used: Number(match[4]) };
}

/**
 * The value of ` name=value` in an entry line, found by name, not position:
 * 3.x adds `shard=0`. Searched for, not split into fields: a table may list a million lines.
 */
function field(line: string, name: string): string | undefined {
  const at = line.indexOf(` ${name}=`);
  if (at === -1) return undefined;
  const start = at + name.length + 2;
  const end = line.indexOf(" ", start);
  return line.slice(start, end === -1 ? undefined : end);
}

/** The names of what an entry stores: every field but the ones all entries carry. */
function storedNames(line: string): string[] {
  return line
    .split(" ")
    .slice(1)
    .map((token) => token.slice(0, Math.max(0, token.indexOf("="))))
    .filter((name) => name !== "" && !ENTRY_FIELDS.has(name));
}

/** The client address a key stands for: IPv4-mapped keys become the IPv4 address; ranges and other text are no client. */
function clientAddress(key: string): string | undefined {
  // Nearly every key is an IPv4 client in mapped form: a dotted quad that parses is already canonical (leading zeros are refused), so its text is the address.
  if (key.startsWith(MAPPED_PREFIX)) {
    const tail = key.slice(MAPPED_PREFIX.length);
    if (parseIpv4Address(tail) !== undefined) return tail;
  }
  const parsed = parseCidr(key);
  if (!parsed.ok || key.includes("/")) return undefined;
  const canonical = parsed.cidr.text;
  return canonical.slice(0, canonical.lastIndexOf("/"));
}

/**
 * One entry line of `show table NAME`. Each tracked request resets `exp` to the
 * table's `expire`, so the last request was `expire - exp` ago.
 */
export function parseTableEntry(line: string, clock: EntryClock): TableEntryLine {
  const pointerEnd = line.indexOf(": ");
  if (pointerEnd === -1 || !POINTER.test(line.slice(0, pointerEnd + 1))) return { kind: "malformed" };
  const key = field(line, "key");
  const exp = field(line, "exp");
  if (key === undefined || exp === undefined || !COUNT.test(exp)) return { kind: "malformed" };
  const address = clientAddress(key);
  if (address === undefined) return { kind: "not-an-address", key };
  const counter = field(line, COUNTERS[0]) ?? field(line, COUNTERS[1]);
  if (counter === undefined) return { kind: "no-counter", stored: storedNames(line) };
  if (!COUNT.test(counter)) return { kind: "malformed" };
  const sinceMs = clock.expireMs - Number(exp);
  return { kind: "client", client: { address, requests: Number(counter), lastSeenMs: clock.now.getTime() - Math.max(0, sinceMs) }, expOverrun: sinceMs < 0 };
}

/** The reply to a bare `show table`: every table HAProxy has, with its type and size; lines that are no header are left out. */
export function parseTableList(text: string): TableHeader[] {
  return text.split("\n").flatMap((line) => parseTableHeader(line) ?? []);
}
