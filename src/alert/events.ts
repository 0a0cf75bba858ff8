import type { DesiredSummary, Exposure, InstanceResult, RunResult } from "../model/result.js";
import type { GuardName } from "../model/guards.js";
import type { AlertEventName, Severity } from "../model/alerts.js";
import type { Denial } from "../model/denials.js";
import {
  changedSummary,
  deniedRunnerSummary,
  driftSummary,
  type DroppedAddress,
  exposureSummary,
  failureSummary,
  heldSummary,
  unexpectedSummary,
} from "./summaries.js";

/**
 * One firing condition an event stands for: where (the instance, or "" for
 * the whole run) and what it is about (entries or addresses, all of them).
 * The set is part of its identity: a member its last message did not name
 * makes it news.
 */
export interface AlertCondition {
  target: string;
  about: string[];
}

/** Everything a sink needs to say about one event; built from the run result alone. */
export interface AlertEvent {
  event: AlertEventName;
  severity: Severity;
  summary: string;
  runId: string;
  time: string;
  dryRun: boolean;
  forced: boolean;
  guard: GuardName | null;
  desired: DesiredSummary;
  counts: { add: number; remove: number };
  entries: { add: string[]; remove: string[] };
  unexpected: string[];
  /** Addresses that came and went over the last day, with how often (a flapping upstream). */
  flaps: Record<string, number>;
  /** For `denied-runner`: the published addresses turned away (first few), with their counts and reason. */
  deniedRunners?: DeniedRunner[];
  /** For `exposure`: who gets in that should not (first few). */
  exposures?: Array<Exposure & { target: string }>;
  instances: Array<{ target: string; status: string; add: number; remove: number; error: string | null }>;
  /** Bodies name the first few of each; the lifecycle compares them whole. */
  conditions: AlertCondition[];
}

export const ENTRIES_IN_ALERT = 10;

/** A published address turned away, as an alert names it. */
export type DeniedRunner = Pick<Denial, "address" | "requests" | "lastSeen" | "reason" | "detail" | "runId"> & { targets: string[] };

function deniedRunnersOf(result: RunResult): DeniedRunner[] {
  return (result.denied?.runners ?? []).slice(0, ENTRIES_IN_ALERT).map(({ address, requests, lastSeen, reason, detail, runId, instances }) => ({
    address,
    requests,
    lastSeen,
    reason,
    detail,
    runId,
    targets: instances.filter((i) => !i.admitted).map((i) => i.target),
  }));
}

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

/** The instances an event is about: each is a firing condition of its own, so a healthy one is never in `failed`. */
const IS_ABOUT: Readonly<Record<AlertEventName, (i: InstanceResult) => boolean>> = {
  changed: (i) => i.status === "applied",
  failed: (i) => i.status === "failed",
  held: (i) => i.status === "held",
  // New ranges are a fact about the sources, not about any one instance.
  unexpected: () => false,
  drift: (i) => (i.unexpected?.length ?? 0) > 0 || (i.vanished?.length ?? 0) > 0,
  exposure: (i) => (i.exposures?.length ?? 0) > 0,
  // A denied runner is one fact over the fleet: the tables of every instance, added up.
  "denied-runner": () => false,
};

/** One event the run raises, before `alerts.on` filters it. */
interface RaisedEvent {
  event: AlertEventName;
  severity: Severity;
  summary: string;
  entries: { add: string[]; remove: string[] };
}

/** The events a finished run raises, filtered by `alerts.on`. */
export function alertEvents(result: RunResult, on: ReadonlyArray<AlertEventName>, now: Date): AlertEvent[] {
  const dropped = droppedAddresses(result);
  const exposures = result.instances.flatMap((i) => (i.exposures ?? []).map((e) => ({ ...e, target: i.target })));
  const relevant = (event: AlertEventName) => result.instances.filter(IS_ABOUT[event]);
  return raisedEvents(result, dropped, exposures)
    .filter(({ event }) => on.includes(event))
    .map(({ event, severity, summary, entries }) => ({
      event,
      severity,
      summary: `${summary} (run ${result.runId})`,
      runId: result.runId,
      time: now.toISOString(),
      dryRun: result.dryRun,
      forced: result.forced,
      guard: result.held?.guard ?? null,
      desired: result.desired,
      counts: { add: entries.add.length, remove: entries.remove.length },
      entries: { add: entries.add.slice(0, ENTRIES_IN_ALERT), remove: entries.remove.slice(0, ENTRIES_IN_ALERT) },
      unexpected: result.unexpected.slice(0, ENTRIES_IN_ALERT),
      flaps: result.flaps,
      ...(event === "exposure" ? { exposures: exposures.slice(0, ENTRIES_IN_ALERT) } : {}),
      ...(event === "denied-runner" ? { deniedRunners: deniedRunnersOf(result) } : {}),
      instances: relevant(event).map((i) => ({ target: i.target, status: i.status, add: i.add.length, remove: i.remove.length, error: i.error })),
      conditions: conditionsOf(relevant(event), (i) => subjectsOf(event, i, result, dropped)),
    }));
}

function droppedAddresses(result: RunResult): DroppedAddress[] {
  return result.sources.flatMap((s) => (s.disagreements ?? []).filter((d) => !d.counted).map((d) => ({ source: s.name, ...d })));
}

/** Every event the run's result calls for, with its summary and the entries it names. */
function raisedEvents(result: RunResult, dropped: ReadonlyArray<DroppedAddress>, exposures: ReadonlyArray<Exposure & { target: string }>): RaisedEvent[] {
  const planned = { add: union(result.instances.map((i) => i.add)), remove: union(result.instances.map((i) => i.remove)) };
  const raised: RaisedEvent[] = [];
  if (result.outcome === "failed") raised.push({ event: "failed", severity: "critical", summary: failureSummary(result), entries: planned });
  if (result.held) raised.push({ event: "held", severity: "warning", summary: heldSummary(result.held), entries: planned });
  if (result.unexpected.length > 0 || dropped.length > 0)
    raised.push({ event: "unexpected", severity: "warning", summary: unexpectedSummary(result, dropped), entries: planned });
  const changed = result.instances.filter(IS_ABOUT.changed);
  if (changed.length > 0) {
    const entries = { add: union(changed.map((i) => i.add)), remove: union(changed.map((i) => i.remove)) };
    raised.push({ event: "changed", severity: "info", summary: changedSummary(result, { ...entries, instances: changed.length }), entries });
  }
  const drift = driftSummary(result.instances);
  if (drift !== undefined) raised.push({ event: "drift", severity: "warning", summary: drift, entries: planned });
  if (exposures.length > 0) raised.push({ event: "exposure", severity: "critical", summary: exposureSummary(exposures), entries: planned });
  const runners = result.denied?.runners ?? [];
  if (runners.length > 0) raised.push({ event: "denied-runner", severity: "warning", summary: deniedRunnerSummary(runners), entries: planned });
  return raised;
}

/** An event's firing conditions: one for each instance it is about, or one for the whole run when it is about none. */
function conditionsOf(instances: ReadonlyArray<InstanceResult>, subjects: (i: InstanceResult | null) => string[]): AlertCondition[] {
  if (instances.length === 0) return [{ target: "", about: union([subjects(null)]) }];
  return instances.map((i) => ({ target: i.target, about: union([subjects(i)]) }));
}

/** What a condition is about, without what the run did about it (removed, held): that changes from run to run, the fact does not. */
function subjectsOf(event: AlertEventName, i: InstanceResult | null, result: RunResult, dropped: ReadonlyArray<DroppedAddress>): string[] {
  switch (event) {
    case "unexpected":
      return [...result.unexpected, ...dropped.map((d) => `${d.address} (no quorum in ${d.source})`)];
    case "drift":
      return [...(i?.unexpected ?? []).map((e) => `${e} never planned`), ...(i?.vanished ?? []).map((e) => `${e} vanished`)];
    case "exposure":
      return (i?.exposures ?? []).map((e) => `${e.address} admitted by ${e.entry}: ${e.reason}`);
    case "denied-runner":
      // The addresses alone: their counts grow with every request, which is not news.
      return (result.denied?.runners ?? []).map((d) => d.address);
    default:
      return [];
  }
}
