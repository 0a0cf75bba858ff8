import { canonicalJson, sha256 } from "../util/canonical.js";
import type { AuditRecord } from "./record.js";

/**
 * What an in-sync record says about the world, without what changes every run
 * (time, runId, durations, actor): two runs with the same fingerprint saw the
 * same thing and did nothing.
 */
export function quietFingerprint(body: Pick<AuditRecord, "event" | "configDigest" | "desired" | "sources" | "instances" | "held" | "error">): string {
  return sha256(
    canonicalJson({
      event: body.event,
      configDigest: body.configDigest,
      desired: body.desired,
      sources: body.sources.map((s) => ({ name: s.name, status: s.status, count: s.count, digest: s.digest })),
      instances: body.instances,
      held: body.held,
      error: body.error,
    }),
  );
}

/**
 * Whether a no-op run needs a record of its own: only when it differs from the
 * last record, or when that record is older than the heartbeat. The runs left
 * out are counted in the next record (`quietRuns`). Pure.
 */
export function needsRecord(
  body: Parameters<typeof quietFingerprint>[0] & { time: string },
  last: (Parameters<typeof quietFingerprint>[0] & { time: string }) | undefined,
  heartbeatMs: number,
): boolean {
  if (body.event !== "in-sync" || heartbeatMs <= 0 || !last || last.event !== "in-sync") return true;
  if (Date.parse(body.time) - Date.parse(last.time) >= heartbeatMs) return true;
  return quietFingerprint(body) !== quietFingerprint(last);
}
