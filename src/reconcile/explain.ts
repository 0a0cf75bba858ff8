import type { Logger } from "pino";
import { actorText } from "../audit/render.js";
import type { AuditRecord } from "../audit/record.js";
import type { Config } from "../config/schema.js";
import type { MatchAnswer } from "../model/list.js";
import { type Cidr, contains, parseCidr } from "../model/cidr.js";
import type { ErrorSummary, SourceStatus } from "../model/result.js";
import { isOwned } from "../plan/plan.js";
import { ownershipOf } from "./ownership.js";
import { closePlannedRun, type PlanDeps, planRun } from "./plan-run.js";
import { message } from "./results.js";

export interface ExplainHistoryItem {
  time: string;
  runId: string;
  action: "added" | "removed";
  entry: string;
  actor: string;
}

export interface ExplainInstance {
  target: string;
  /** HAProxy's own answer; null when the instance could not be asked. */
  admitted: boolean | null;
  /** The matching entry, canonical. */
  entry: string | null;
  /** Its key exactly as HAProxy holds it, when that differs. */
  key?: string;
  value: string | null;
  owner: "self" | "foreign" | null;
  /** When the matching owned entry is due to go (removal grace period). */
  pendingRemoval: string | null;
  /** An owned entry this tool never planned (drift): the next sync removes it. */
  unexpected: boolean;
  history: ExplainHistoryItem[];
  error: string | null;
}

export interface ExplainProvenance {
  source: string;
  entry: string;
  name: string | null;
  resolver: string | null;
  firstSeen: string | null;
}

export interface ExplainedAddress {
  address: string;
  /** Inside the desired set; null when the sources could not be read. */
  desired: boolean | null;
  /** The `exclude` entry that keeps it out, if any. */
  excludedBy: string | null;
  provenance: ExplainProvenance[];
  instances: ExplainInstance[];
}

export interface ExplainReport {
  version: 1;
  addresses: ExplainedAddress[];
  sources: SourceStatus[];
  error: ErrorSummary | null;
  outcome: ExplainOutcome;
}

/** Whether the instances `agree` about every address, `disagree` about one, or the answer is `unknown` (an instance or the sources could not be asked). */
export const EXPLAIN_OUTCOMES = ["agree", "disagree", "unknown"] as const;
export type ExplainOutcome = (typeof EXPLAIN_OUTCOMES)[number];

export interface ExplainDeps extends PlanDeps {
  logger: Logger;
  /** The audit trail's records, oldest first. */
  auditRecords: () => Promise<AuditRecord[]>;
}

/** An address to explain: one client address, IPv4-mapped IPv6 read as IPv4; undefined when it is not one. */
export function parseClientAddress(text: string): Cidr | undefined {
  const parsed = parseCidr(text);
  if (!parsed.ok || parsed.cidr.prefix !== (parsed.cidr.family === 4 ? 32 : 128)) return undefined;
  return parsed.cidr;
}

const bare = (cidr: Cidr) => cidr.text.slice(0, cidr.text.indexOf("/"));

/** Every applied addition and removal of an entry that covers `address` on `target`, oldest first. */
function historyOf(records: ReadonlyArray<AuditRecord>, target: string, address: Cidr): ExplainHistoryItem[] {
  const items: ExplainHistoryItem[] = [];
  const covers = (entry: string) => {
    const parsed = parseCidr(entry, { lenient: true });
    return parsed.ok && contains(parsed.cidr, address);
  };
  for (const record of records) {
    if (record.event !== "applied" && record.event !== "failed") continue;
    for (const instance of record.instances) {
      if (instance.target !== target || instance.outcome !== "applied") continue;
      const who = actorText(record.actor);
      for (const entry of instance.add.filter(covers)) items.push({ time: record.time, runId: record.runId, action: "added", entry, actor: who });
      for (const entry of instance.remove.filter(covers)) items.push({ time: record.time, runId: record.runId, action: "removed", entry, actor: who });
    }
  }
  return items;
}

/**
 * For each address and instance: HAProxy's own answer (`get map`/`get acl`),
 * whose entry admits it, whether the sources publish it and from where, a
 * pending removal, and its history in the audit trail. Reads only.
 */
export async function explainAddresses(config: Config, deps: ExplainDeps, addresses: ReadonlyArray<Cidr>): Promise<ExplainReport> {
  const { kind, map: file } = config.haproxy;
  const ownership = ownershipOf(config);
  const planned = await planRun(config, deps, { force: false, noGrace: false, probeExposures: false, readWithoutDesired: true }, deps.logger);
  const texts = addresses.map(bare);
  let records: AuditRecord[] = [];
  try {
    records = await deps.auditRecords();
  } catch (err) {
    deps.logger.warn({ err }, "the audit trail cannot be read: explain shows no history");
  }
  const answers = new Map<string, MatchAnswer[] | Error>();
  try {
    await Promise.all(
      planned.instances.map(async (p) => {
        if (p.kind === "unreached") return;
        try {
          answers.set(p.target, await p.instance.match(kind, file, texts));
        } catch (err) {
          answers.set(p.target, err instanceof Error ? err : new Error(String(err)));
        }
      }),
    );
  } finally {
    await closePlannedRun(planned);
  }

  const firstAdded = new Map<string, string>();
  for (const record of records) {
    if (record.event !== "applied" && record.event !== "failed") continue;
    for (const instance of record.instances) {
      if (instance.outcome !== "applied") continue;
      for (const entry of instance.add) if (!firstAdded.has(entry)) firstAdded.set(entry, record.time);
    }
  }

  const explained = addresses.map((address, i): ExplainedAddress => {
    const desiredEntries = planned.desiredSet?.entries.filter((e) => contains(e.cidr, address)) ?? [];
    const provenance = desiredEntries.flatMap((e) =>
      e.provenance.map((p) => ({
        source: p.source,
        entry: e.cidr.text,
        name: p.hostname ?? null,
        resolver: p.resolvers?.join(",") ?? p.url ?? null,
        firstSeen: firstAdded.get(e.cidr.text) ?? null,
      })),
    );
    const instances = planned.instances.map((p): ExplainInstance => {
      const history = historyOf(records, p.target, address);
      const answer = answers.get(p.target);
      if (answer === undefined || answer instanceof Error) {
        const error = answer instanceof Error ? answer : p.result.error;
        return {
          target: p.target,
          admitted: null,
          entry: null,
          value: null,
          owner: null,
          pendingRemoval: null,
          unexpected: false,
          history,
          error: error ? message(error) : "not reached",
        };
      }
      const match = answer[i] as MatchAnswer;
      const owned = match.found && match.key !== null && isOwned(match.value === null ? {} : { value: match.value }, ownership);
      const canonical = match.key === null ? undefined : parseCidr(match.key, { lenient: true });
      const entry = canonical?.ok ? canonical.cidr.text : match.key;
      const pending = entry === null ? null : (planned.grace?.pending.get(entry) ?? null);
      return {
        target: p.target,
        admitted: match.found,
        entry,
        ...(match.key !== null && match.key !== entry ? { key: match.key } : {}),
        value: match.value,
        owner: match.found ? (owned ? "self" : "foreign") : null,
        pendingRemoval: owned ? pending : null,
        unexpected: owned && entry !== null && (p.result.unexpected?.includes(entry) ?? false),
        history,
        error: null,
      };
    });
    const excludedBy = config.exclude.find((text) => {
      const hole = parseCidr(text);
      return hole.ok && contains(hole.cidr, address);
    });
    return {
      address: texts[i] as string,
      desired: planned.desiredSet ? desiredEntries.length > 0 : null,
      excludedBy: excludedBy ?? null,
      provenance,
      instances,
    };
  });

  return { version: 1, addresses: explained, sources: planned.sources, error: planned.error, outcome: explainOutcomeOf(explained, planned.error) };
}

export function explainOutcomeOf(addresses: ReadonlyArray<ExplainedAddress>, error: ErrorSummary | null): ExplainOutcome {
  if (error !== null || addresses.some((a) => a.instances.some((i) => i.admitted === null))) return "unknown";
  // Instances disagree when they answer differently, also when both admit but through different entries or owners.
  const answerOf = (i: ExplainInstance) => JSON.stringify([i.admitted, i.entry, i.value, i.owner]);
  return addresses.some((a) => new Set(a.instances.filter((i) => i.admitted !== null).map(answerOf)).size > 1) ? "disagree" : "agree";
}
