import type { RunResult } from "../model/result.js";
import { AUDIT_SCHEMA, type AuditActor, type AuditBody, type AuditEvent } from "./record.js";

export interface AuditContext {
  actor: AuditActor;
  toolVersion: string;
  /** Digest of the effective config with secrets redacted. */
  configDigest: string;
}

const VANISHED_IN_RECORD = 100;

type RunFacts = Pick<RunResult, "runId" | "forced" | "noGrace" | "stateNotice" | "sources" | "desired" | "instances" | "held" | "error" | "reviewedPlan">;

/** The outcome event of a finished run. */
export function outcomeEvent(result: Pick<RunResult, "outcome" | "instances">): AuditEvent {
  if (result.outcome === "failed" || result.outcome === "held") return result.outcome;
  return result.instances.some((i) => i.status === "applied") ? "applied" : "in-sync";
}

/** A record body from what the run knows; pure, and free of secrets by construction. */
export function auditBody(event: AuditEvent, facts: RunFacts, context: AuditContext, time: Date, unfinishedIntent: AuditBody["unfinishedIntent"]): AuditBody {
  return {
    v: AUDIT_SCHEMA,
    time: time.toISOString(),
    runId: facts.runId,
    event,
    actor: context.actor,
    toolVersion: context.toolVersion,
    configDigest: context.configDigest,
    forced: facts.forced,
    noGrace: facts.noGrace,
    stateNotice: facts.stateNotice,
    sources: facts.sources.map((s) => ({
      name: s.name,
      type: s.type,
      status: s.status,
      count: s.count,
      digest: s.digest ?? null,
      durationMs: s.durationMs,
      error: s.error ?? null,
      ...(s.disagreements ? { disagreements: s.disagreements } : {}),
    })),
    desired: facts.desired,
    instances: facts.instances.map((i) => ({
      target: i.target,
      haproxyVersion: i.haproxyVersion ?? null,
      add: i.add,
      remove: i.remove,
      outcome: event === "intent" ? "planned" : i.status,
      pendingRemoval: i.pendingRemoval,
      committedVersion: i.committedVersion ?? null,
      error: i.error,
      left: i.left ?? null,
      ...(i.rewrite && i.rewrite.length > 0 ? { rewrite: i.rewrite } : {}),
      ...(i.unexpected && i.unexpected.length > 0 ? { unexpected: i.unexpected } : {}),
      // Vanished entries are all in `add` too; a restarted instance can miss every one, so only the first are repeated here.
      ...(i.vanished && i.vanished.length > 0 ? { vanished: i.vanished.slice(0, VANISHED_IN_RECORD), vanishedCount: i.vanished.length } : {}),
      ...(i.duplicates && i.duplicates.length > 0 ? { duplicates: i.duplicates } : {}),
      ...(i.exposures && i.exposures.length > 0 ? { exposures: i.exposures } : {}),
    })),
    ...(facts.reviewedPlan ? { reviewedPlan: facts.reviewedPlan } : {}),
    held: facts.held ? { guard: facts.held.guard, message: facts.held.message } : null,
    error: facts.error,
    unfinishedIntent,
  };
}
