import type { AuditRecord } from "../audit/record.js";
import type { Config } from "../config/schema.js";
import { canonicalKey } from "../model/cidr.js";
import type { DeniedClient } from "../model/denials.js";
import type { DenialFacts, HeldRun, InstanceLive, Removal } from "../plan/denial-facts.js";
import type { TableOutcome } from "./denied-tables.js";
import { admissionsOf, firstAddedTimes, removalsOf } from "./explain-history.js";
import type { PlannedRun } from "./plan-run.js";

/** The tables read, and what else the facts come from besides the planned run. */
export interface TablesRead {
  outcomes: ReadonlyArray<TableOutcome>;
  /** The audit trail's records, oldest first; none leaves out only the removals and runs it knows. */
  records: ReadonlyArray<AuditRecord>;
  now: Date;
  sinceMs?: number;
}

/** What the one planned run knows, as the classifier takes it. */
export function deniedFactsOf(planned: PlannedRun, config: Config, read: TablesRead): DenialFacts {
  const firstAdded = firstAddedTimes(read.records);
  const denied: Array<{ target: string; clients: ReadonlyArray<DeniedClient> }> = read.outcomes.flatMap((o) =>
    "read" in o ? [{ target: o.target, clients: o.read.clients }] : [],
  );
  const live: InstanceLive[] = planned.instances.map((p) =>
    p.kind === "unreached" ? { target: p.target, entries: null } : { target: p.target, entries: p.live.entries.map((e) => canonicalKey(e.key)) },
  );
  return {
    now: read.now,
    denied,
    published: (planned.desiredSet?.entries ?? []).map((e) => ({ entry: e.cidr.text, provenance: e.provenance, since: firstAdded.get(e.cidr.text) ?? null })),
    live,
    held: heldRun(planned, read.records),
    removals: removals(planned, read.records),
    admissions: admissionsOf(read.records),
    exclude: config.exclude.map(canonicalKey),
    ...(read.sinceMs === undefined ? {} : { sinceMs: read.sinceMs }),
  };
}

/** The plan's verdict when a guard would hold it, with what it would add; the run is the last held sync the audit trail recorded. */
function heldRun(planned: PlannedRun, records: ReadonlyArray<AuditRecord>): HeldRun | null {
  if (planned.held === null) return null;
  const additions = planned.instances.flatMap((p) => (p.kind === "held" ? p.plan.add : []));
  const recorded = [...records].reverse().find((r) => r.event === "held" && r.held?.guard === planned.held?.guard);
  return { runId: recorded?.runId ?? null, guard: planned.held.guard, message: planned.held.message, additions };
}

/**
 * What this tool removed: the audit trail names the run and who ran it; the
 * removal state also remembers removals whose run the trail no longer holds.
 */
function removals(planned: PlannedRun, records: ReadonlyArray<AuditRecord>): Removal[] {
  const fromTrail = removalsOf(records);
  const inTrail = new Set(fromTrail.map((r) => r.entry));
  const fromState = Object.entries(planned.state?.entries ?? {}).flatMap(([entry, record]) =>
    record.removedAt === undefined || inTrail.has(entry)
      ? []
      : [{ entry, at: record.removedAt, runId: null, why: "the removal state records it; the audit trail no longer holds that run" }],
  );
  return [...fromTrail, ...fromState];
}
