import type { Logger } from "pino";
import { auditBody, outcomeEvent } from "../audit/body.js";
import { needsRecord } from "../audit/heartbeat.js";
import type { AuditBody, AuditRecord, AuditTrigger } from "../audit/record.js";
import { formatDuration } from "../config/duration.js";
import type { RunResult } from "../model/result.js";
import type { AuditWriter, RunDeps } from "./deps.js";

/** What the intent record says of a run about to change instances. */
export type IntentFacts = Pick<RunResult, "sources" | "desired" | "instances" | "held" | "error" | "stateNotice">;

/** The run a recorder writes for, as its records name it. */
export interface RecordedRun {
  runId: string;
  forced: boolean;
  noGrace: boolean;
  reviewedPlan?: RunResult["reviewedPlan"];
  trigger?: AuditTrigger;
  heartbeatMs: number;
  now: () => Date;
  log: Logger;
}

/** Writes one real run's records to the audit trail, sealed free of secrets. */
export interface AuditRecorder {
  /** No change without a record: written before the first write to any instance. */
  intent(facts: IntentFacts): Promise<void>;
  /** A no-op run like the last recorded one is counted, not recorded, until the heartbeat is due. */
  outcome(result: RunResult): Promise<void>;
  /** True once the intent is being written: from then on the run is waited for, never abandoned. */
  changing(): boolean;
  /** The record this run last wrote or counted, an anchor for `audit verify --anchor`. */
  head(): { seq: number; hash: string } | null;
}

/** Opens the recorder of a real run; a run killed before its outcome is found here, and named in every record of this one. */
export async function openAuditRecorder(deps: Pick<RunDeps, "audit" | "scrubber">, run: RecordedRun): Promise<AuditRecorder> {
  const { trail, context } = deps.audit;
  const { log, now } = run;
  const audited = run.trigger ? { ...context, actor: { ...context.actor, trigger: run.trigger } } : context;
  const unfinished = await findUnfinishedIntent(trail, log);
  let head: { seq: number; hash: string } | null = null;
  let changing = false;
  const lastRecord = () => trail.last().catch(() => undefined);
  const record = async (body: AuditBody) => {
    // A record is sealed for good: secrets are taken out before, never after.
    const sealed = await trail.append(deps.scrubber.value(body));
    head = { seq: sealed.seq, hash: sealed.hash };
    log.info({ audit: true, record: sealed }, `audit ${sealed.event} #${sealed.seq}`);
  };
  /** The next record carries how many identical in-sync runs went unrecorded before it. */
  const recordCounted = async (body: AuditBody, last: AuditRecord | undefined) => {
    const quiet = last && trail.quietRuns ? await trail.quietRuns(last.seq) : 0;
    await record(quiet > 0 ? { ...body, quietRuns: quiet } : body);
  };
  return {
    async intent(facts) {
      changing = true;
      const reviewed = run.reviewedPlan ? { reviewedPlan: run.reviewedPlan } : {};
      const body = auditBody("intent", { ...facts, runId: run.runId, forced: run.forced, noGrace: run.noGrace, ...reviewed }, audited, now(), unfinished);
      await recordCounted(body, await lastRecord());
    },
    async outcome(result) {
      const body = auditBody(outcomeEvent(result), result, audited, now(), unfinished);
      // An unreadable trail is reported by the append that follows, with its own code.
      const last = await lastRecord();
      if (last && !unfinished && !needsRecord(deps.scrubber.value(body), last, run.heartbeatMs) && trail.noteQuietRun) {
        const count = await trail.noteQuietRun(last.seq);
        head = { seq: last.seq, hash: last.hash };
        log.info(
          { audit: true, quietRuns: count, seq: last.seq },
          `in sync as recorded in #${last.seq}: counted, not recorded (audit.heartbeat ${formatDuration(run.heartbeatMs)})`,
        );
        return;
      }
      await recordCounted(body, last);
    },
    changing: () => changing,
    head: () => head,
  };
}

/** A run killed between `intent` and its outcome leaves an intent last in the trail. */
async function findUnfinishedIntent(trail: AuditWriter, log: Logger): Promise<AuditBody["unfinishedIntent"]> {
  try {
    const last = await trail.last();
    if (last?.event !== "intent") return null;
    log.warn(
      { unfinishedRunId: last.runId, seq: last.seq },
      `run ${last.runId} recorded an intent at ${last.time} but no outcome (killed, crashed, or still running)`,
    );
    return { runId: last.runId, seq: last.seq, time: last.time };
  } catch (err) {
    // Reported again, and fatal, when the first record is written.
    log.error({ err }, "cannot read the audit trail");
    return null;
  }
}
