import type { LeftState } from "../model/left-state.js";
import type { ErrorCode } from "../errors.js";
import type { DesiredSummary, Duplicate, ErrorSummary, Exposure } from "../model/result.js";
import type { Disagreement } from "../model/provenance.js";
import { parseAuditRecord } from "./schema.js";
import { canonicalJson, hmacSha256, sha256 } from "../util/canonical.js";

export const AUDIT_SCHEMA = 1;
export const GENESIS = `sha256:${"0".repeat(64)}`;

export type AuditEvent = "intent" | "applied" | "held" | "failed" | "in-sync";

export interface AuditActor {
  user: string;
  host: string;
  pod?: string;
  namespace?: string;
  trigger: AuditTrigger;
}

/** What started a run: a person, the schedule, or the daemon seeing a new HAProxy process or a published runner denied. */
export type AuditTrigger = "manual" | "scheduled" | "restart" | "denial";

export interface AuditInstance {
  target: string;
  haproxyVersion: string | null;
  add: string[];
  remove: string[];
  outcome: string;
  /** Owned entries kept through the removal grace period, with when they go. */
  pendingRemoval: Array<{ entry: string; removeAt: string }>;
  committedVersion: number | null;
  error: string | null;
  /** Where a failed instance was left (null when it did not fail). */
  left?: LeftState | null;
  /** Records written before `left`: the same in words. */
  state?: string | null;
  /** Owned keys rewritten from a previous value. */
  rewrite?: string[];
  /** Drift: owned entries never planned, and desired entries removed behind this tool's back. */
  unexpected?: string[];
  /** The first vanished entries (all of them are in `add`), and how many there were. */
  vanished?: string[];
  vanishedCount?: number;
  duplicates?: Duplicate[];
  /** Who was admitted that should not be, after the apply. */
  exposures?: Exposure[];
}

/**
 * An error code as a record read back holds it. This version writes only
 * codes of its own (`ErrorCode`), but a trail outlives versions: a code
 * retired since an older version wrote it must not make that record, which is
 * evidence, unreadable.
 */
export type RecordedErrorCode = ErrorCode | `E_${string}`;

interface AuditFields {
  v: number;
  time: string;
  runId: string;
  event: AuditEvent;
  actor: AuditActor;
  toolVersion: string;
  configDigest: string;
  forced: boolean;
  /** --no-grace: absent entries removed without the grace period. */
  noGrace: boolean;
  /** Set when the removal state was missing or corrupt and started over. */
  stateNotice: string | null;
  sources: Array<{
    name: string;
    type: string;
    status: string;
    count: number;
    digest: string | null;
    durationMs: number;
    error: string | null;
    disagreements?: Disagreement[];
  }>;
  desired: DesiredSummary;
  instances: AuditInstance[];
  /** The reviewed plan the run applied (`sync --plan`): who applied it is `actor`. */
  reviewedPlan?: { digest: string; createdAt: string };
  /** Identical in-sync runs since the previous record that were not recorded (`audit.heartbeat`). */
  quietRuns?: number;
  held: { guard: string; message: string } | null;
  /** An earlier run that wrote `intent` and never its outcome (crashed or killed). */
  unfinishedIntent: { runId: string; seq: number; time: string } | null;
}

/** What a run says about itself; `seq`, `prevHash` and `hash` are added when sealed. */
export interface AuditBody extends AuditFields {
  error: ErrorSummary | null;
}

/** A sealed record, as written or as read back from the trail. */
export interface AuditRecord extends AuditFields {
  error: { code: RecordedErrorCode; message: string } | null;
  seq: number;
  prevHash: string;
  hash: string;
}

/** The chain's tip, also kept in a separate head file so that truncation shows. */
export interface AuditHead {
  seq: number;
  hash: string;
  /**
   * With `audit.key`, the head file's own HMAC over `seq` and `hash`: without
   * it, whoever deletes records from the end could rewrite the head to match.
   */
  seal?: string;
}

/**
 * A record's seal: SHA-256 of its canonical text, or with `audit.key` an
 * HMAC-SHA256, which nobody without the key can recompute after an edit.
 */
export function hashOf(record: Omit<AuditRecord, "hash">, key?: string): string {
  return sealOf(canonicalJson(record), key);
}

const sealOf = (text: string, key: string | undefined) => (key === undefined ? sha256(text) : hmacSha256(key, text));

export const isKeyed = (hash: string) => hash.startsWith("hmac-sha256:");

/** Links a body to the chain after `previous` and seals it with its own hash (keyed when `key` is given). */
export function sealRecord(body: AuditBody, previous: AuditHead | null, key?: string): AuditRecord {
  const unsealed = { ...body, seq: (previous?.seq ?? 0) + 1, prevHash: previous?.hash ?? GENESIS };
  return { ...unsealed, hash: hashOf(unsealed, key) };
}

const headText = (head: AuditHead) => canonicalJson({ head: "travis-allowlist audit head", seq: head.seq, hash: head.hash });

/** The head file's content: sealed with `key` when there is one, as the records are. */
export function sealHead(head: AuditHead, key?: string): AuditHead {
  const tip = { seq: head.seq, hash: head.hash };
  return key === undefined ? tip : { ...tip, seal: hmacSha256(key, headText(tip)) };
}

/** Whether a head's seal holds under `key`. */
export function headSealHolds(head: AuditHead, key: string): boolean {
  return head.seal !== undefined && head.seal === hmacSha256(key, headText(head));
}

/** Whether a record's seal holds, under `key` when it is keyed. */
export function sealHolds(record: AuditRecord, key?: string): boolean {
  return sealHoldsOver(record, record.hash, key);
}

/** Whether `hash` seals every field of `content` but `hash` itself, under `key` when it is keyed. */
function sealHoldsOver(content: object, hash: string, key: string | undefined): boolean {
  // fromEntries keeps an own "__proto__" field as a field, so it is sealed like any other.
  const unsealed = Object.fromEntries(Object.entries(content).filter(([name]) => name !== "hash"));
  if (!isKeyed(hash)) return sealOf(canonicalJson(unsealed), undefined) === hash;
  return key !== undefined && sealOf(canonicalJson(unsealed), key) === hash;
}

export function serialise(record: AuditRecord): string {
  return `${canonicalJson(record)}\n`;
}

export type VerifyResult =
  | { ok: true; records: number; head: AuditHead | null; /** The first keyed record, when the trail is keyed. */ keyedFrom?: number }
  | {
      ok: false;
      records: number;
      line: number;
      reason: string;
      /** The trail is keyed and no key was given: nothing is known about it, which is not the same as tampering. */
      keyMissing?: true;
    };

export interface VerifyOptions {
  /** `audit.key`: keyed records are checked with it, and a trail that is not keyed is not accepted. */
  key?: string;
  /** `SEQ:DIGEST` kept elsewhere (a log store): record SEQ must carry exactly that hash. */
  anchor?: AuditHead;
}

/**
 * Walks the chain: every line must parse, follow the previous one by
 * sequence and hash, and hash to what it claims; the last record must match
 * the head file. Pure: text in, verdict out.
 */
export function verifyChain(text: string, head: AuditHead | null, options: VerifyOptions = {}): VerifyResult {
  const lines = text.split("\n");
  const complete = text.endsWith("\n") || text === "";
  if (complete) lines.pop();
  const walk: ChainWalk = { previous: null, hashes: [], keyedFrom: undefined };
  for (const [i, lineText] of lines.entries()) {
    const failure =
      !complete && i === lines.length - 1
        ? { reason: "incomplete last record (the file was truncated or a write was cut off)" }
        : followRecord(lineText, i + 1, walk, options.key);
    if (failure) return { ok: false, records: i, line: i + 1, ...failure };
  }
  const failure = headFailure(walk, lines.length, head, options.key) ?? anchorFailure(walk, options.anchor);
  if (failure) return { ok: false, records: lines.length, ...failure };
  return { ok: true, records: lines.length, head: walk.previous, ...(walk.keyedFrom === undefined ? {} : { keyedFrom: walk.keyedFrom }) };
}

/** What the walk has read so far: the last record, every record's hash by its sequence, the first keyed record. */
interface ChainWalk {
  previous: AuditHead | null;
  hashes: string[];
  keyedFrom: number | undefined;
}

/** Why a record does not hold; `keyMissing` when nothing can be known of it without `audit.key`. */
type RecordFailure = { reason: string; keyMissing?: true };

/** Why the chain as a whole does not hold, and the line to look at (0: none in particular). */
type ChainFailure = { line: number; reason: string };

/** Reads line number `line` as the record after the walk's last one and adds it to the walk; why it does not hold, if it does not. */
function followRecord(text: string, line: number, walk: ChainWalk, key: string | undefined): RecordFailure | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { reason: "not a JSON record (edited or truncated)" };
  }
  const parsed = parseAuditRecord(json);
  if (!parsed.ok)
    return { reason: parsed.version !== undefined && parsed.version !== AUDIT_SCHEMA ? `unknown schema version ${parsed.version}` : parsed.reason };
  const { record } = parsed;
  if (record.v !== AUDIT_SCHEMA) return { reason: `unknown schema version ${String(record.v)}` };
  if (record.seq !== line) return { reason: `sequence ${String(record.seq)} where ${line} was expected (a record was deleted, inserted or moved)` };
  const expectedPrev = walk.previous?.hash ?? GENESIS;
  if (record.prevHash !== expectedPrev) return { reason: `prevHash does not match the record before it (a record was deleted, inserted or moved)` };
  const failure = sealFailure(parsed.content, record.hash, walk.keyedFrom !== undefined, key);
  if (failure) return failure;
  if (isKeyed(record.hash)) walk.keyedFrom ??= record.seq;
  walk.previous = { seq: record.seq, hash: record.hash };
  walk.hashes[record.seq] = record.hash;
  return undefined;
}

/** Whether `hash` seals `content`: keyed under `key`, or unkeyed where no keyed record came before. */
function sealFailure(content: object, hash: string, keyedBefore: boolean, key: string | undefined): RecordFailure | undefined {
  if (isKeyed(hash)) {
    if (key === undefined) return { reason: "the record is keyed (HMAC-SHA256): verifying it needs audit.key", keyMissing: true };
    if (!sealHoldsOver(content, hash, key)) return { reason: "the HMAC does not match: the record was edited, or sealed with another key" };
    return undefined;
  }
  // Once the trail is keyed, a record without a key is one anybody could have written.
  if (keyedBefore) return { reason: "a record without a key after keyed records (forged or appended without audit.key)" };
  if (!sealHoldsOver(content, hash, undefined)) return { reason: "hash does not match the content (the record was edited)" };
  return undefined;
}

/** Whether the head file matches the end of the walked chain (`last` lines), and a keyed trail's head its seal. */
function headFailure(walk: ChainWalk, last: number, head: AuditHead | null, key: string | undefined): ChainFailure | undefined {
  const { previous, keyedFrom, hashes } = walk;
  // A keyed trail has a sealed head: one rewritten to match a shortened trail shows.
  if (head && keyedFrom !== undefined && key !== undefined && !headSealHolds(head, key)) {
    return {
      line: last,
      reason:
        head.seal === undefined
          ? "the head file is not sealed with audit.key though the trail is keyed: anyone could have rewritten it to hide records removed from the end (so is a head written before heads were sealed: runs refuse to extend the trail, see docs/audit.md to recover)"
          : "the head file's seal does not match audit.key: the head was rewritten, so records may have been removed from the end",
    };
  }
  // The head may lag one record behind (a crash between the append and the head's update), never ahead.
  if (head && hashes[head.seq] !== head.hash) {
    return {
      line: last,
      reason:
        head.seq > (previous?.seq ?? 0)
          ? `the chain ends at record ${previous?.seq ?? 0} but the head file records ${head.seq} (records were removed from the end)`
          : `record ${head.seq} does not have the hash the head file records (the end of the trail was rewritten)`,
    };
  }
  if (!head && previous !== null) return { line: 0, reason: "the head file is missing, so truncation can not be ruled out" };
  if (key !== undefined && previous !== null && keyedFrom === undefined) {
    return { line: 0, reason: "audit.key is set but no record is keyed: a trail without a key is not verified" };
  }
  return undefined;
}

/** Whether the record an anchor kept elsewhere names is in the trail with the anchored hash. */
function anchorFailure(walk: ChainWalk, anchor: AuditHead | undefined): ChainFailure | undefined {
  if (!anchor) return undefined;
  const { seq, hash } = anchor;
  if (walk.hashes[seq] === undefined) return { line: 0, reason: `the anchor names record ${seq}, which the trail does not have (records were removed)` };
  if (walk.hashes[seq] !== hash) return { line: seq, reason: `record ${seq} does not carry the anchored digest (the trail was rewritten)` };
  return undefined;
}
