import { LEFT_STATES } from "../model/left-state.js";
import { z } from "zod";
import { EXPOSURE_REASONS } from "../model/result.js";
import type { AuditHead, AuditRecord } from "./record.js";

/*
 * Every object here is loose (unknown fields pass through), deliberately:
 * - a record is sealed over all of its fields, so a copy that dropped one
 *   would no longer be the record that was sealed, and `audit show --output
 *   json` would show less than the trail holds;
 * - the trail outlives versions: a field a newer version adds must not make
 *   its records unreadable to this one, nor one an older version wrote that
 *   this one no longer does.
 * Fields this version reads are checked, required where the type requires
 * them, and never defaulted or transformed: what a reader gets is what was
 * sealed. `audit verify` checks the seal over the line as parsed, not over
 * this copy.
 */

const text = z.string();
const texts = z.array(z.string());
const count = z.number().int().min(0);

const duplicate = z.looseObject({ entry: text, values: texts });

const exposure = z.looseObject({
  address: text,
  entry: text,
  key: text.optional(),
  value: text.nullable(),
  owner: z.enum(["self", "foreign"]),
  reason: z.enum(EXPOSURE_REASONS),
});

const disagreement = z.looseObject({ address: text, hostname: text, returnedBy: texts, missingFrom: texts, counted: z.boolean() });

const instance = z.looseObject({
  target: text,
  haproxyVersion: text.nullable(),
  add: texts,
  remove: texts,
  outcome: text,
  pendingRemoval: z.array(z.looseObject({ entry: text, removeAt: text })),
  committedVersion: z.number().nullable(),
  error: text.nullable(),
  left: z.enum(LEFT_STATES).nullable().optional(),
  state: text.nullable().optional(),
  rewrite: texts.optional(),
  unexpected: texts.optional(),
  vanished: texts.optional(),
  vanishedCount: count.optional(),
  duplicates: z.array(duplicate).optional(),
  exposures: z.array(exposure).optional(),
});

const source = z.looseObject({
  name: text,
  type: text,
  status: text,
  count: z.number(),
  digest: text.nullable(),
  durationMs: z.number(),
  error: text.nullable(),
  disagreements: z.array(disagreement).optional(),
});

/** One record of the trail, every field the type promises; see the note above for what is not checked. */
export const auditRecordSchema = z.looseObject({
  v: z.number(),
  seq: z.number().int().min(1),
  prevHash: text,
  hash: text,
  time: text,
  runId: text,
  event: z.enum(["intent", "applied", "held", "failed", "in-sync"]),
  actor: z.looseObject({
    user: text,
    host: text,
    pod: text.optional(),
    namespace: text.optional(),
    trigger: z.enum(["manual", "scheduled", "restart", "denial"]),
  }),
  toolVersion: text,
  configDigest: text,
  forced: z.boolean(),
  noGrace: z.boolean(),
  stateNotice: text.nullable(),
  sources: z.array(source),
  desired: z.looseObject({ count: z.number(), digest: text.nullable() }),
  instances: z.array(instance),
  reviewedPlan: z.looseObject({ digest: text, createdAt: text }).optional(),
  quietRuns: count.optional(),
  held: z.looseObject({ guard: text, message: text }).nullable(),
  // Any code, not only this version's: see RecordedErrorCode.
  error: z.looseObject({ code: z.templateLiteral(["E_", z.string()], { error: "expected an error code (E_…)" }), message: text }).nullable(),
  unfinishedIntent: z.looseObject({ runId: text, seq: z.number().int(), time: text }).nullable(),
}) satisfies z.ZodType<AuditRecord>;

/** Only the schema version, to tell a record of another version from a damaged one. */
const versioned = z.object({ v: z.number() });

const headSchema = z.object({ seq: z.number().int().min(0), hash: z.string(), seal: z.string().optional() }) satisfies z.ZodType<AuditHead>;

export type ParsedAuditRecord =
  | {
      ok: true;
      record: AuditRecord;
      /** The value exactly as parsed from its line, every field of it: what the seal covers. */
      content: object;
    }
  | { ok: false; reason: string; /** Its `v`, when it has one. */ version?: number };

function firstIssue(error: z.ZodError): string {
  const [issue] = error.issues;
  if (!issue) return "";
  const more = error.issues.length > 1 ? ` and ${error.issues.length - 1} more` : "";
  return ` (${issue.path.join(".") || "the record"}: ${issue.message}${more})`;
}

/** A parsed line checked as a record, with what is wrong with it when it is not one. */
export function parseAuditRecord(value: unknown): ParsedAuditRecord {
  const parsed = auditRecordSchema.safeParse(value);
  if (!parsed.success) {
    const version = versioned.safeParse(value);
    return { ok: false, reason: `not an audit record${firstIssue(parsed.error)}`, ...(version.success ? { version: version.data.v } : {}) };
  }
  // Unreachable for a value the schema accepted; it narrows `value` for the seal check.
  if (typeof value !== "object" || value === null) return { ok: false, reason: "not an audit record" };
  return { ok: true, record: parsed.data, content: value };
}

/** The head file's content, or undefined when it is not a head. */
export function parseAuditHead(value: unknown): AuditHead | undefined {
  const parsed = headSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** A line of the trail as a record, or undefined when it is not one (edited, truncated, foreign). */
export function parseAuditLine(line: string): AuditRecord | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = parseAuditRecord(json);
  return parsed.ok ? parsed.record : undefined;
}

/** The `.quiet` file: identical in-sync runs left out after record `afterSeq`. */
const quietSchema = z.object({ afterSeq: z.number().int().min(0), count: count });

/**
 * The count of quiet runs after `afterSeq` from the `.quiet` file's text. A
 * file that is missing, damaged or about another record counts as none: the
 * count never decides what is recorded, so a bad file can only make the next
 * record under-report the runs left out, never fail a run.
 */
export function parseQuietRuns(text: string | undefined, afterSeq: number): number {
  if (text === undefined) return 0;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 0;
  }
  const parsed = quietSchema.safeParse(json);
  return parsed.success && parsed.data.afterSeq === afterSeq ? parsed.data.count : 0;
}
