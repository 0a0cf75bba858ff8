import { z } from "zod";
import type { AuditHead, AuditRecord } from "./record.js";

/**
 * The fields readers of the trail rely on. Records are checked against it
 * and kept exactly as written (unknown fields included), since the chain
 * hashes every byte of what was sealed.
 */
const recordSchema = z.looseObject({
  v: z.number(),
  seq: z.number().int().min(1),
  prevHash: z.string(),
  hash: z.string(),
  time: z.string(),
  runId: z.string(),
  event: z.enum(["intent", "applied", "held", "failed", "in-sync"]),
  actor: z.looseObject({ user: z.string(), host: z.string(), trigger: z.enum(["manual", "scheduled"]) }),
  instances: z.array(z.looseObject({ target: z.string(), add: z.array(z.string()), remove: z.array(z.string()), outcome: z.string() })),
});

const headSchema = z.object({ seq: z.number().int().min(0), hash: z.string(), seal: z.string().optional() });

export function isAuditRecord(value: unknown): value is AuditRecord {
  return recordSchema.safeParse(value).success;
}

export function isAuditHead(value: unknown): value is AuditHead {
  return headSchema.safeParse(value).success;
}

/** A line of the trail as a record, or undefined when it is not one (edited, truncated, foreign). */
export function parseAuditLine(line: string): AuditRecord | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  return isAuditRecord(json) ? json : undefined;
}
