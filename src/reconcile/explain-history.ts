import type { Logger } from "pino";
import { actorText } from "../audit/render.js";
import type { AuditRecord } from "../audit/record.js";
import { type Cidr, contains, parseCidr } from "../model/cidr.js";
import type { Admission, Removal } from "../plan/denial-facts.js";
import type { ExplainHistoryItem } from "./explain-report.js";

/** The records of runs that changed something (applied, or failed part way), oldest first. */
function changingRuns(records: ReadonlyArray<AuditRecord>): AuditRecord[] {
  return records.filter((record) => record.event === "applied" || record.event === "failed");
}

/** Every applied addition and removal of an entry that covers `address` on `target`, oldest first. */
export function historyOf(records: ReadonlyArray<AuditRecord>, target: string, address: Cidr): ExplainHistoryItem[] {
  const items: ExplainHistoryItem[] = [];
  const covers = (entry: string) => {
    const parsed = parseCidr(entry, { lenient: true });
    return parsed.ok && contains(parsed.cidr, address);
  };
  for (const record of changingRuns(records)) {
    for (const instance of record.instances) {
      if (instance.target !== target || instance.outcome !== "applied") continue;
      const who = actorText(record.actor);
      for (const entry of instance.add.filter(covers)) items.push({ time: record.time, runId: record.runId, action: "added", entry, actor: who });
      for (const entry of instance.remove.filter(covers)) items.push({ time: record.time, runId: record.runId, action: "removed", entry, actor: who });
    }
  }
  return items;
}

/** When each entry was first added to any instance, by the audit trail. */
export function firstAddedTimes(records: ReadonlyArray<AuditRecord>): ReadonlyMap<string, string> {
  const firstAdded = new Map<string, string>();
  for (const record of changingRuns(records)) {
    for (const instance of record.instances) {
      if (instance.outcome !== "applied") continue;
      for (const entry of instance.add) if (!firstAdded.has(entry)) firstAdded.set(entry, record.time);
    }
  }
  return firstAdded;
}

/** Every entry an applied run removed from an instance, with the run and who ran it: what the audit trail knows of removals. */
export function removalsOf(records: ReadonlyArray<AuditRecord>): Removal[] {
  const removals: Removal[] = [];
  for (const record of changingRuns(records)) {
    for (const instance of record.instances) {
      if (instance.outcome !== "applied") continue;
      const why = `run by ${actorText(record.actor)}`;
      for (const entry of instance.remove) removals.push({ entry, at: record.time, runId: record.runId, why });
    }
  }
  return removals;
}

/** Every entry an applied run added to an instance, with when: what the audit trail knows of admissions. */
export function admissionsOf(records: ReadonlyArray<AuditRecord>): Admission[] {
  return changingRuns(records).flatMap((record) =>
    record.instances.flatMap((instance) =>
      instance.outcome === "applied" ? instance.add.map((entry) => ({ target: instance.target, entry, at: record.time })) : [],
    ),
  );
}

/** The audit trail's records, oldest first; none when it cannot be read, logged with what the reader goes without. */
export async function recordsOrNone(read: () => Promise<AuditRecord[]>, logger: Logger, without: string): Promise<AuditRecord[]> {
  try {
    return await read();
  } catch (err) {
    logger.warn({ err }, `the audit trail cannot be read: ${without}`);
    return [];
  }
}
