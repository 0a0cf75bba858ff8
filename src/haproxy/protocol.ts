import { AllowlistError, HaproxyError } from "../errors.js";
import { Scrubber } from "../util/secrets.js";
import { isAddressText } from "../model/cidr.js";
import type { ListKind, MatchAnswer, WritableEntry } from "../model/list.js";

export interface LoadedList {
  id: string;
  file: string;
  description: string;
  /** Version counters (2.4+): a commit by anyone moves `currentVersion`. */
  currentVersion?: number;
  nextVersion?: number;
  /** Entries across all versions, staged ones included. */
  entryCount?: number;
}

export interface Response {
  /** Severity from `set severity-output number`, when the reply carries one. */
  severity?: number;
  text: string;
  isError: boolean;
}

/** HAProxy's own CLI client keeps payloads at 8 KB, well under the default tune.bufsize of 16 KB. */
export const PAYLOAD_LIMIT = 8000;

/** A reply this tool does not understand; the parsers see only text, so the instance names itself when it catches this. */
export function protocolError(message: string): HaproxyError {
  return new HaproxyError("E_HAPROXY_PROTOCOL", undefined, message);
}

/**
 * Reply text for a message, scrubbed whole before it is cut: a cut first could
 * leave a secret's first characters. The scrubber knows the config's secrets
 * (a map path or value from `${VAR}`); without one, none.
 */
export function quoted(text: string, scrubber: Scrubber | undefined): string {
  return JSON.stringify((scrubber ?? new Scrubber()).start(text, 200));
}

export class UnsafeTextError extends AllowlistError {
  readonly value: string;

  constructor(what: string, value: string) {
    super("E_UNSAFE_TEXT", `refusing to send ${what} ${JSON.stringify(value)} to the runtime socket`);
    this.value = value;
  }
}

const TOKEN = /^[A-Za-z0-9._/+@#:-]+$/;
const MAP_VALUE = /^[^\s\0][^\r\n\0]*$/;

function token(what: string, text: string): string {
  if (!TOKEN.test(text)) throw new UnsafeTextError(what, text);
  return text;
}

/**
 * A key may be written only when it is an address or CIDR made of address
 * characters: no separator, newline, `<<` or space can pass.
 */
export function assertWritableKey(key: string): string {
  if (!isAddressText(key)) throw new UnsafeTextError("key", key);
  return key;
}

function writableValue(value: string | undefined): string {
  if (value === undefined || !MAP_VALUE.test(value) || value !== value.trimEnd()) throw new UnsafeTextError("map value", String(value));
  return value;
}

/** Checks a whole list before anything is sent, so a bad entry stops the change before it starts. */
export function assertWritable(kind: ListKind, entries: ReadonlyArray<WritableEntry>): void {
  for (const entry of entries) {
    assertWritableKey(entry.key);
    if (kind === "map") writableValue(entry.value);
  }
}

function listRef(file: string, version?: number): string {
  return version === undefined ? token("file", file) : `@${version} ${token("file", file)}`;
}

export const commands = {
  prompt: "prompt",
  severity: "set severity-output number",
  info: "show info",
  quit: "quit",
  list: (kind: ListKind) => `show ${kind}`,
  show: (kind: ListKind, file: string, version?: number) => `show ${kind} ${listRef(file, version)}`,
  prepare: (kind: ListKind, file: string) => `prepare ${kind} ${listRef(file)}`,
  commit: (kind: ListKind, file: string, version: number) => `commit ${kind} ${listRef(file, version)}`,
  clear: (kind: ListKind, file: string, version: number) => `clear ${kind} ${listRef(file, version)}`,
  /** ACLs take no payload: one command per pattern (maps are filled by payload, see mapPayloadCommands). */
  addAcl: (file: string, key: string, version?: number) => `add acl ${listRef(file, version)} ${assertWritableKey(key)}`,
  deleteRef: (kind: ListKind, file: string, ref: string) => `del ${kind} ${listRef(file)} #${token("ref", ref)}`,
  match: (kind: ListKind, file: string, address: string) => `get ${kind} ${listRef(file)} ${assertProbeAddress(address)}`,
};

/** `get map`/`get acl` take a client address, never a range. */
function assertProbeAddress(address: string): string {
  if (address.includes("/") || !isAddressText(address)) throw new UnsafeTextError("address", address);
  return address;
}

/**
 * `type=ip, case=sensitive, found=yes, idx=tree, key="1.2.3.0/24", value="travis", type="str"`
 * for maps; `… match=yes, idx=tree, pattern="1.2.3.0/24"` for ACLs.
 */
export function parseMatch(kind: ListKind, address: string, text: string, scrubber?: Scrubber): MatchAnswer {
  const patterns = MATCH_REPLY[kind];
  const verdict = patterns.verdict.exec(text);
  if (!verdict) throw protocolError(`unexpected reply to get ${kind} ${address}: ${quoted(text, scrubber)}`);
  if (verdict[1] === "no") return { address, found: false, key: null, value: null };
  return { address, found: true, key: patterns.key.exec(text)?.[1] ?? null, value: patterns.value?.exec(text)?.[1] ?? null };
}

const quotedField = (name: string) => new RegExp(`\\b${name}="((?:[^"\\\\]|\\\\.)*)"`);
const MATCH_REPLY: Record<ListKind, { verdict: RegExp; key: RegExp; value?: RegExp }> = {
  map: { verdict: /\bfound=(yes|no)\b/, key: quotedField("key"), value: quotedField("value") },
  acl: { verdict: /\bmatch=(yes|no)\b/, key: quotedField("pattern") },
};

/** Validated `key value` payload lines for a map, before any version exists. */
export function mapPayloadLines(entries: ReadonlyArray<WritableEntry>): string[] {
  return entries.map((entry) => `${assertWritableKey(entry.key)} ${writableValue(entry.value)}\n`);
}

export function mapPayloadHead(file: string, version: number | undefined): string {
  return `add map ${listRef(file, version)} <<\n`;
}

/** `head` commands, each with a payload of whole lines that keeps command plus payload under `limit` bytes. */
export function chunkPayload(head: string, lines: ReadonlyArray<string>, limit = PAYLOAD_LIMIT): string[] {
  const out: string[] = [];
  let chunk: string[] = [];
  let size = head.length + 1;
  for (const line of lines) {
    if (head.length + 1 + line.length > limit) throw new UnsafeTextError("map entry (too long for one payload)", line);
    if (size + line.length > limit && chunk.length > 0) {
      out.push(`${head}${chunk.join("")}`);
      chunk = [];
      size = head.length + 1;
    }
    chunk.push(line);
    size += line.length;
  }
  if (chunk.length > 0) out.push(`${head}${chunk.join("")}`);
  return out;
}

/** `add map [@N] <file> <<` commands for these entries. */
export function mapPayloadCommands(file: string, entries: WritableEntry[], version: number | undefined, limit = PAYLOAD_LIMIT): string[] {
  return chunkPayload(mapPayloadHead(file, version), mapPayloadLines(entries), limit);
}

/** Frames one reply: drops payload continuation prompts and reads the severity prefix. */
export function parseResponse(raw: string): Response {
  // A message's own newline and the empty line that ends every reply both go: none of them is part of what HAProxy said.
  const text = raw.replace(/^(\+ )+/, "").replace(/\n+$/, "");
  const match = /^\[(\d)\]: /.exec(text);
  if (!match) return { text, isError: false };
  const severity = Number(match[1]);
  return { severity, text: text.slice(match[0].length), isError: severity <= 3 };
}

/** `show map` / `show acl` without argument: the loaded lists. */
export function parseListing(text: string, scrubber?: Scrubber): LoadedList[] {
  const lists: LoadedList[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(\d+) \(([^)]*)\) ?(.*)$/.exec(line);
    if (!match) throw protocolError(`unexpected line in list output: ${quoted(line, scrubber)}`);
    const description = match[3] as string;
    const counter = (name: string): number | undefined => {
      const found = new RegExp(`\\b${name}=(\\d+)`).exec(description);
      return found ? Number(found[1]) : undefined;
    };
    const list: LoadedList = { id: match[1] as string, file: match[2] as string, description };
    const [currentVersion, nextVersion, entryCount] = [counter("curr_ver"), counter("next_ver"), counter("entry_cnt")];
    if (currentVersion !== undefined) list.currentVersion = currentVersion;
    if (nextVersion !== undefined) list.nextVersion = nextVersion;
    if (entryCount !== undefined) list.entryCount = entryCount;
    lists.push(list);
  }
  return lists;
}

export function parseInfoVersion(text: string): string {
  const match = /^Version: (\S+)/m.exec(text);
  if (!match) throw protocolError("show info gave no Version line");
  return match[1] as string;
}

/**
 * Which HAProxy process answered: its pid and start time. A restart or a
 * reload starts a new process, which loads the list file from disk again.
 */
export function parseInfoProcess(text: string): string | undefined {
  const pid = /^Pid: (\d+)/m.exec(text)?.[1];
  const started = /^Start_time_sec: (\d+)/m.exec(text)?.[1];
  return pid === undefined || started === undefined ? undefined : `${pid}@${started}`;
}

/** Runtime transactions (`prepare`/`commit`) exist from HAProxy 2.4 on. */
export function supportsTransactions(version: string): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major > 2 || (major === 2 && minor >= 4);
}

export function parsePreparedVersion(text: string, scrubber?: Scrubber): number {
  const match = /New version created: (\d+)/.exec(text);
  if (!match) throw protocolError(`prepare gave no version: ${quoted(text, scrubber)}`);
  return Number(match[1]);
}

/** Order-independent comparison of entry lists, duplicates counted. */
export function sameEntries(
  actual: ReadonlyArray<WritableEntry>,
  expected: ReadonlyArray<WritableEntry>,
): { equal: boolean; missing: string[]; unexpected: string[] } {
  // HAProxy lists a version in the order it was filled: the common case needs no hashing.
  if (actual.length === expected.length && actual.every((e, i) => e.key === expected[i]?.key && e.value === expected[i]?.value)) {
    return { equal: true, missing: [], unexpected: [] };
  }
  const counts = new Map<string, number>();
  const line = (e: WritableEntry) => (e.value === undefined ? e.key : `${e.key} ${e.value}`);
  for (const e of expected) counts.set(line(e), (counts.get(line(e)) ?? 0) + 1);
  const unexpected: string[] = [];
  for (const e of actual) {
    const n = counts.get(line(e)) ?? 0;
    if (n === 0) unexpected.push(line(e));
    else counts.set(line(e), n - 1);
  }
  const missing = [...counts].flatMap(([text, n]) => Array<string>(n).fill(text));
  return { equal: missing.length === 0 && unexpected.length === 0, missing, unexpected };
}

/** The map or ACL file text HAProxy would load to hold exactly these entries. */
export function renderListFile(entries: ReadonlyArray<WritableEntry>): string {
  return entries.map((e) => (e.value === undefined ? `${e.key}\n` : `${e.key} ${e.value}\n`)).join("");
}
