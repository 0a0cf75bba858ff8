import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import type { DesiredEntry } from "../model/desired.js";
import type { HeldBy } from "../model/result.js";
import { evaluateGuards, type GuardTrip } from "../plan/guards.js";
import type { PlannedInstance } from "./planned-instance.js";

/** The guards' verdict on a run's plans: every planned instance held when one guard holds. */
export interface GuardVerdict {
  instances: PlannedInstance[];
  held: HeldBy | null;
  overridden: HeldBy["trips"];
  /** New entries outside guards.expected. */
  unexpected: string[];
}

const tripSummary = ({ guard, message, target }: GuardTrip) => (target === undefined ? { guard, message } : { guard, message, target });

/** Judges the planned instances against the guards (set aside by `force`, except those never set aside) and logs what held or was set aside. */
export function judgeByGuards(planned: PlannedInstance[], desired: ReadonlyArray<DesiredEntry>, config: Config, force: boolean, log: Logger): GuardVerdict {
  const verdict = evaluateGuards({
    desiredCount: desired.length,
    desiredEntries: desired.map((e) => e.cidr),
    plans: planned.flatMap((p) => (p.kind === "planned" ? [{ target: p.target, plan: p.plan }] : [])),
    settings: config.guards,
    force,
  });
  const overridden = verdict.overridden.map(tripSummary);
  if (overridden.length > 0) log.warn({ forced: true, overridden }, "guards set aside (--force, or a reviewed plan)");
  const lead = verdict.holds[0];
  if (!lead) return { instances: planned, held: null, overridden, unexpected: verdict.unexpected };
  const trips = verdict.holds.map(tripSummary);
  log.warn({ guard: lead.guard, trips }, `held: ${lead.message}`);
  return {
    instances: planned.map((p) => (p.kind === "planned" ? { ...p, kind: "held", result: { ...p.result, status: "held" } } : p)),
    held: { guard: lead.guard, message: lead.message, trips },
    overridden,
    unexpected: verdict.unexpected,
  };
}
