import type { ErrorCode } from "../errors.js";
import type { Duplicate, ErrorSummary, Exposure } from "../model/result.js";
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

/** What started a run: a person, the schedule, or the daemon seeing a new HAProxy process. */
export type AuditTrigger = "manual" | "scheduled" | "restart";

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
  state: string | null;
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
  desired: { count: number; digest: string | null };
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
  const { key } = options;
  let keyedFrom: number | undefined;
  const lines = text.split("\n");
  const complete = text.endsWith("\n") || text === "";
  if (complete) lines.pop();
  let previous: AuditHead | null = null;
  const hashes: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const fail = (reason: string): VerifyResult => ({ ok: false, records: i, line, reason });
    if (!complete && i === lines.length - 1) return fail("incomplete last record (the file was truncated or a write was cut off)");
    let json: unknown;
    try {
      json = JSON.parse(lines[i] as string);
    } catch {
      return fail("not a JSON record (edited or truncated)");
    }
    const parsed = parseAuditRecord(json);
    if (!parsed.ok) return fail(parsed.version !== undefined && parsed.version !== AUDIT_SCHEMA ? `unknown schema version ${parsed.version}` : parsed.reason);
    const { record } = parsed;
    if (record.v !== AUDIT_SCHEMA) return fail(`unknown schema version ${String(record.v)}`);
    if (record.seq !== line) return fail(`sequence ${String(record.seq)} where ${line} was expected (a record was deleted, inserted or moved)`);
    const expectedPrev = previous?.hash ?? GENESIS;
    if (record.prevHash !== expectedPrev) return fail(`prevHash does not match the record before it (a record was deleted, inserted or moved)`);
    const hash = record.hash;
    if (isKeyed(hash)) {
      if (key === undefined)
        return { ok: false, records: i, line, reason: "the record is keyed (HMAC-SHA256): verifying it needs audit.key", keyMissing: true };
      if (!sealHoldsOver(parsed.content, hash, key)) return fail("the HMAC does not match: the record was edited, or sealed with another key");
      keyedFrom ??= record.seq;
    } else {
      // Once the trail is keyed, a record without a key is one anybody could have written.
      if (keyedFrom !== undefined) return fail("a record without a key after keyed records (forged or appended without audit.key)");
      if (!sealHoldsOver(parsed.content, hash, undefined)) return fail("hash does not match the content (the record was edited)");
    }
    previous = { seq: record.seq, hash };
    hashes[record.seq] = hash;
  }
  // A keyed trail has a sealed head: one rewritten to match a shortened trail shows.
  if (head && keyedFrom !== undefined && key !== undefined && !headSealHolds(head, key)) {
    return {
      ok: false,
      records: lines.length,
      line: lines.length,
      reason:
        head.seal === undefined
          ? "the head file is not sealed with audit.key though the trail is keyed: anyone could have rewritten it to hide records removed from the end (a head written before heads were sealed is sealed by the next run)"
          : "the head file's seal does not match audit.key: the head was rewritten, so records may have been removed from the end",
    };
  }
  // The head may lag one record behind (a crash between the append and the head's update), never ahead.
  if (head && hashes[head.seq] !== head.hash) {
    return {
      ok: false,
      records: lines.length,
      line: lines.length,
      reason:
        head.seq > (previous?.seq ?? 0)
          ? `the chain ends at record ${previous?.seq ?? 0} but the head file records ${head.seq} (records were removed from the end)`
          : `record ${head.seq} does not have the hash the head file records (the end of the trail was rewritten)`,
    };
  }
  if (!head && previous !== null) {
    return { ok: false, records: lines.length, line: 0, reason: "the head file is missing, so truncation can not be ruled out" };
  }
  if (key !== undefined && previous !== null && keyedFrom === undefined) {
    return { ok: false, records: lines.length, line: 0, reason: "audit.key is set but no record is keyed: a trail without a key is not verified" };
  }
  if (options.anchor) {
    const { seq, hash } = options.anchor;
    if (hashes[seq] === undefined)
      return { ok: false, records: lines.length, line: 0, reason: `the anchor names record ${seq}, which the trail does not have (records were removed)` };
    if (hashes[seq] !== hash)
      return { ok: false, records: lines.length, line: seq, reason: `record ${seq} does not carry the anchored digest (the trail was rewritten)` };
  }
  return { ok: true, records: lines.length, head: previous, ...(keyedFrom === undefined ? {} : { keyedFrom }) };
}
