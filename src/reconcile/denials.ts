import type { Logger } from "pino";
import type { AuditRecord } from "../audit/record.js";
import type { Config } from "../config/schema.js";
import { errorCode } from "../errors.js";
import type { TableRead } from "../haproxy/stick-table-reader.js";
import { MAX_DENIED_CLIENTS } from "../haproxy/table-read.js";
import { canonicalKey } from "../model/cidr.js";
import type { DeniedClient, DenialsOutcome, DenialsReport, TableSummary } from "../model/denials.js";
import type { DenialFacts, HeldRun, InstanceLive, Removal } from "../plan/denial-facts.js";
import { classifyDenials, publishedDenied } from "../plan/denial-reasons.js";
import { firstAddedTimes, removalsOf } from "./explain-history.js";
import { closePlannedRun, type PlanDeps, type PlannedRun, planRun } from "./plan-run.js";
import { message } from "./results.js";
import { mapLimit } from "../util/map-limit.js";
import type { ErrorSummary } from "../model/result.js";

export interface DenialsDeps extends PlanDeps {
  logger: Logger;
  /** The audit trail's records, oldest first. */
  auditRecords: () => Promise<AuditRecord[]>;
}

type TableToRead = DenialsOptions["table"] & { now: Date };

export interface DenialsOptions {
  /** The denied clients' stick table and its configured expire. */
  table: { table: string; expireMs: number };
  /** Only clients whose last request is at most this old. */
  sinceMs?: number;
}

type TableOutcome = { target: string; read: TableRead } | { target: string; error: ErrorSummary };

/**
 * Who HAProxy turned away, on every instance, and why: the run is planned
 * once, as status plans it, and each instance's table is read over the
 * connection that planning opened. Reads only.
 */
export async function reportDenials(config: Config, deps: DenialsDeps, options: DenialsOptions): Promise<DenialsReport> {
  const now = (deps.now ?? (() => new Date()))();
  const planned = await planRun(config, deps, { force: false, noGrace: false, probeExposures: false, readWithoutDesired: false }, deps.logger);
  let outcomes: TableOutcome[];
  try {
    outcomes = planned.error ? [] : await readTables(planned, config, { ...options.table, now }, deps.logger);
  } finally {
    await closePlannedRun(planned);
  }
  const records = planned.error ? [] : await auditRecordsOrNone(deps);
  const facts = factsOf(planned, config, { outcomes, records, now, ...(options.sinceMs === undefined ? {} : { sinceMs: options.sinceMs }) });
  const denials = classifyDenials(facts);
  const tables = outcomes.map((o) => summary(o, options.table.table));
  const body = { version: 1 as const, denials, tables, error: planned.error };
  return { ...body, outcome: outcomeOf(body) };
}

function outcomeOf(report: Pick<DenialsReport, "denials" | "tables" | "error">): DenialsOutcome {
  if (report.error || report.tables.some((t) => t.error)) return "unknown";
  return publishedDenied(report.denials) ? "published-denied" : "clear";
}

/**
 * Each instance's table, `haproxy.concurrency` at a time, each keeping its
 * even share of the clients one run keeps (MAX_DENIED_CLIENTS), so that many
 * instances together hold no more than one. An instance that could not be
 * planned is a table that was not read, with the instance's own error.
 */
async function readTables(planned: PlannedRun, config: Config, table: TableToRead, logger: Logger): Promise<TableOutcome[]> {
  const share = Math.max(1, Math.floor(MAX_DENIED_CLIENTS / Math.max(1, planned.instances.length)));
  return mapLimit(planned.instances, config.haproxy.concurrency, async (p): Promise<TableOutcome> => {
    if (p.kind === "unreached" || p.kind === "failed") {
      return { target: p.target, error: { code: p.result.errorCode ?? "E_NOT_CONTACTED", message: p.result.error ?? "the instance was not read" } };
    }
    try {
      const read = await p.instance.readTable(table.table, { now: table.now, expireMs: table.expireMs, limit: share });
      warnAboutPart(p.target, read, share, logger);
      return { target: p.target, read };
    } catch (err) {
      logger.error({ err, target: p.target }, "the denied clients' table cannot be read");
      return { target: p.target, error: { code: errorCode(err), message: message(err) } };
    }
  });
}

/** A table that shows only part of who was denied, or whose lastSeen would be wrong: a person reading the result should know. */
function warnAboutPart(target: string, read: TableRead, share: number, logger: Logger): void {
  if (read.truncated && read.clients.length >= share)
    logger.warn(
      { target, entries: read.entries, kept: read.clients.length },
      `more than ${share} denied clients on one instance: only the first are classified`,
    );
  else if (read.truncated)
    logger.warn({ target, size: read.header.size }, "the denied clients' table is full: HAProxy evicts its oldest entries, so this is a recent sample");
  if (read.expOverrun)
    logger.warn({ target }, "an entry expires later than haproxy.denials.expire allows: set it to the table's expire, or lastSeen is shown too late");
}

function summary(o: TableOutcome, table: string): TableSummary {
  if ("error" in o) return { target: o.target, table, entries: 0, truncated: false, skipped: 0, error: o.error };
  const { entries, truncated, skipped } = o.read;
  return { target: o.target, table, entries, truncated, skipped: skipped.notAnAddress + skipped.malformed, error: null };
}

/** The audit trail's records; none when it cannot be read, which only leaves out the removals it knows. */
async function auditRecordsOrNone(deps: DenialsDeps): Promise<AuditRecord[]> {
  try {
    return await deps.auditRecords();
  } catch (err) {
    deps.logger.warn({ err }, "the audit trail cannot be read: removals are known only from the removal state");
    return [];
  }
}

interface Read {
  outcomes: ReadonlyArray<TableOutcome>;
  records: ReadonlyArray<AuditRecord>;
  now: Date;
  sinceMs?: number;
}

/** What the one planned run knows, as the classifier takes it. */
function factsOf(planned: PlannedRun, config: Config, read: Read): DenialFacts {
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
