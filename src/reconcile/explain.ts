import type { Logger } from "pino";
import { clockOf } from "./deps.js";
import type { AuditRecord } from "../audit/record.js";
import type { Config } from "../config/schema.js";
import { type Cidr, contains, parseCidr } from "../model/cidr.js";
import type { MatchAnswer } from "../model/list.js";
import { firstAddedTimes, historyOf, recordsOrNone } from "./explain-history.js";
import { type DeniedHere, deniedAt, deniedForAddresses } from "./explain-denied.js";
import { explainOnInstance, type InstanceContext, type MatchReply } from "./explain-instance.js";
import { type ExplainedAddress, type ExplainReport, explainOutcomeOf } from "./explain-report.js";
import { ownershipOf } from "./ownership.js";
import { closePlannedRun, type PlanDeps, type PlannedRun, planRun } from "./plan-run.js";

export {
  EXPLAIN_OUTCOMES,
  explainOutcomeOf,
  type ExplainedAddress,
  type ExplainHistoryItem,
  type ExplainInstance,
  type ExplainOutcome,
  type ExplainProvenance,
  type ExplainReport,
} from "./explain-report.js";

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

/**
 * For each address and instance: HAProxy's own answer (`get map`/`get acl`),
 * whose entry admits it, whether the sources publish it and from where, a
 * pending removal, and its history in the audit trail. Reads only.
 */
export async function explainAddresses(config: Config, deps: ExplainDeps, addresses: ReadonlyArray<Cidr>): Promise<ExplainReport> {
  const planned = await planRun(config, deps, { force: false, noGrace: false, probeExposures: false, readWithoutDesired: true }, deps.logger);
  const texts = addresses.map(bare);
  const table = config.haproxy.denials;
  let replies: ReadonlyMap<string, MatchReply>;
  let denied: ReadonlyMap<string, DeniedHere> | undefined;
  try {
    replies = await askEveryInstance(planned, config, texts);
    if (table) denied = await deniedForAddresses(planned, config, { ...table, now: clockOf(deps)() }, texts, deps.logger);
  } finally {
    await closePlannedRun(planned);
  }
  const records = await recordsOrNone(deps.auditRecords, deps.logger, "explain shows no history");
  const firstAdded = firstAddedTimes(records);
  const onInstances = { kind: config.haproxy.kind, ownership: ownershipOf(config), pending: planned.grace?.pending ?? new Map<string, string>() };
  const context = { config, planned, records, replies, denied, firstAdded, onInstances, asked: addresses.length };
  const explained = addresses.map((address, index) => explainAddress(address, index, context));
  return { version: 1, addresses: explained, sources: planned.sources, error: planned.error, outcome: explainOutcomeOf(explained, planned.error) };
}

/** Every reached instance's matcher asked about every address at once. */
async function askEveryInstance(planned: PlannedRun, config: Config, texts: string[]): Promise<ReadonlyMap<string, MatchReply>> {
  const { kind, map: file } = config.haproxy;
  const replies = new Map<string, MatchAnswer[] | Error>();
  await Promise.all(
    planned.instances.map(async (p) => {
      if (p.kind === "unreached") return;
      try {
        replies.set(p.target, await p.instance.match(kind, file, texts));
      } catch (err) {
        replies.set(p.target, err instanceof Error ? err : new Error(String(err)));
      }
    }),
  );
  return replies;
}

interface AddressContext {
  config: Config;
  planned: PlannedRun;
  records: ReadonlyArray<AuditRecord>;
  replies: ReadonlyMap<string, MatchReply>;
  /** Each instance's denied clients' table, with `haproxy.denials`. */
  denied: ReadonlyMap<string, DeniedHere> | undefined;
  firstAdded: ReadonlyMap<string, string>;
  /** What every instance's answer is read with. */
  onInstances: Omit<InstanceContext, "history">;
  /** How many addresses each instance was asked about. */
  asked: number;
}

/** One address: the desired entries that cover it and where they came from, the exclusion that keeps it out, and each instance's answer. */
function explainAddress(address: Cidr, index: number, context: AddressContext): ExplainedAddress {
  const { config, planned } = context;
  const desiredEntries = planned.desiredSet?.entries.filter((e) => contains(e.cidr, address)) ?? [];
  const provenance = desiredEntries.flatMap((e) =>
    e.provenance.map((p) => ({
      source: p.source,
      entry: e.cidr.text,
      name: p.hostname ?? null,
      resolver: p.resolvers?.join(",") ?? p.url ?? null,
      firstSeen: context.firstAdded.get(e.cidr.text) ?? null,
    })),
  );
  const at = { index, asked: context.asked };
  const instances = planned.instances.map((p) => ({
    ...explainOnInstance(p.result, context.replies.get(p.target), at, { ...context.onInstances, history: historyOf(context.records, p.target, address) }),
    ...(context.denied ? deniedAt(context.denied.get(p.target), bare(address)) : {}),
  }));
  const excludedBy = config.exclude.find((text) => {
    const hole = parseCidr(text);
    return hole.ok && contains(hole.cidr, address);
  });
  return {
    address: bare(address),
    desired: planned.desiredSet ? desiredEntries.length > 0 : null,
    excludedBy: excludedBy ?? null,
    provenance,
    instances,
  };
}
