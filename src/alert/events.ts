import { firstEntries } from "../model/entries.js";
import type { DesiredSummary, Exposure, RunResult } from "../model/result.js";
import type { GuardName } from "../model/guards.js";
import type { AlertEventName, Severity } from "../model/alerts.js";

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
  /** For `exposure`: who gets in that should not (first few). */
  exposures?: Array<Exposure & { target: string }>;
  instances: Array<{ target: string; status: string; add: number; remove: number; error: string | null }>;
  /** Bodies name the first few of each; the lifecycle compares them whole. */
  conditions: AlertCondition[];
}

export const ENTRIES_IN_ALERT = 10;

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

function failureSummary(result: RunResult): string {
  if (result.error) return `run failed, nothing changed: ${result.error.message}`;
  const failed = result.instances.filter((i) => i.status === "failed");
  const details = failed.map((i) => `${i.target}: ${i.error ?? "unknown error"} (left: ${i.state ?? "unknown"})`);
  return `${failed.length} of ${result.instances.length} instances failed: ${details.join("; ")}`;
}

/** The events a finished run raises, filtered by `alerts.on`. */
export function alertEvents(result: RunResult, on: ReadonlyArray<AlertEventName>, now: Date): AlertEvent[] {
  const changedInstances = result.instances.filter((i) => i.status === "applied");
  // The instances an event is about: each is a firing condition of its own, so a healthy one is never in `failed`.
  const about: Record<AlertEventName, (i: RunResult["instances"][number]) => boolean> = {
    changed: (i) => i.status === "applied",
    failed: (i) => i.status === "failed",
    held: (i) => i.status === "held",
    // New ranges are a fact about the sources, not about any one instance.
    unexpected: () => false,
    drift: (i) => (i.unexpected?.length ?? 0) > 0 || (i.vanished?.length ?? 0) > 0,
    exposure: (i) => (i.exposures?.length ?? 0) > 0,
  };
  const relevant = (event: AlertEventName) => result.instances.filter(about[event]);
  const dropped = result.sources.flatMap((s) => (s.disagreements ?? []).filter((d) => !d.counted).map((d) => ({ source: s.name, ...d })));
  // What each condition is about, without what the run did about it (removed, held): that changes from run to run, the fact does not.
  const subjects: Record<AlertEventName, (i: RunResult["instances"][number] | null) => string[]> = {
    changed: () => [],
    failed: () => [],
    held: () => [],
    unexpected: () => [...result.unexpected, ...dropped.map((d) => `${d.address} (no quorum in ${d.source})`)],
    drift: (i) => [...(i?.unexpected ?? []).map((e) => `${e} never planned`), ...(i?.vanished ?? []).map((e) => `${e} vanished`)],
    exposure: (i) => (i?.exposures ?? []).map((e) => `${e.address} admitted by ${e.entry}: ${e.reason}`),
  };
  const conditions = (event: AlertEventName): AlertCondition[] => {
    const instances = relevant(event);
    if (instances.length === 0) return [{ target: "", about: union([subjects[event](null)]) }];
    return instances.map((i) => ({ target: i.target, about: union([subjects[event](i)]) }));
  };
  const add = union(relevant("changed").map((i) => i.add));
  const remove = union(relevant("changed").map((i) => i.remove));
  const planned = { add: union(result.instances.map((i) => i.add)), remove: union(result.instances.map((i) => i.remove)) };

  const raised: Array<[AlertEventName, Severity, string, { add: string[]; remove: string[] }]> = [];
  if (result.outcome === "failed") raised.push(["failed", "critical", failureSummary(result), planned]);
  if (result.held) raised.push(["held", "warning", `change held, nothing applied anywhere: ${result.held.message}`, planned]);
  if (result.unexpected.length > 0 || dropped.length > 0) {
    const fate = result.held ? "held" : result.forced && !result.dryRun ? "applied with --force" : "seen";
    const parts = [
      result.unexpected.length > 0 ? `${result.unexpected.length} new entries outside guards.expected (${fate}): ${firstEntries(result.unexpected)}` : "",
      dropped.length > 0
        ? `${dropped.length} addresses dropped for lack of resolver quorum: ${firstEntries(dropped.map((d) => `${d.address} (${d.source}: only ${d.returnedBy.join(", ") || "no resolver"})`))}`
        : "",
    ].filter((p) => p !== "");
    raised.push(["unexpected", "warning", parts.join("; "), planned]);
  }
  if (changedInstances.length > 0) {
    const parts = [...add.map((e) => `+${e}`), ...remove.map((e) => `-${e}`)];
    const flapping = Object.entries(result.flaps).filter(([, n]) => n > 1);
    const flapText = flapping.length > 0 ? `; came and went in the last day: ${firstEntries(flapping.map(([e, n]) => `${e} (${n}x)`))}` : "";
    raised.push([
      "changed",
      "info",
      `applied +${add.length}/-${remove.length} on ${changedInstances.length} instance(s): ${firstEntries(parts)}${flapText}`,
      { add, remove },
    ]);
  }

  const fate = (status: string, done: string, todo: string) => (status === "applied" ? done : status === "held" ? `held, not ${done}` : todo);
  const driftLines = result.instances.flatMap((i) => [
    ...(i.unexpected ?? []).map((e) => `${e} on ${i.target} (never planned; ${fate(i.status, "removed", "to be removed")})`),
    ...(i.vanished ?? []).map((e) => `${e} vanished from ${i.target} (${fate(i.status, "restored", "to be restored")})`),
  ]);
  if (driftLines.length > 0)
    raised.push(["drift", "warning", `${driftLines.length} owned entries changed behind this tool's back: ${firstEntries(driftLines)}`, planned]);
  const exposures = result.instances.flatMap((i) => (i.exposures ?? []).map((e) => ({ ...e, target: i.target })));
  if (exposures.length > 0) {
    const lines = exposures.map(
      (e) => `${e.address} admitted by ${e.owner} entry ${e.entry}${e.value === null ? "" : ` (${e.value})`} on ${e.target}: ${e.reason}`,
    );
    raised.push(["exposure", "critical", `${exposures.length} exposure(s), admitted although they should not be: ${firstEntries(lines)}`, planned]);
  }

  return raised
    .filter(([event]) => on.includes(event))
    .map(([event, severity, summary, entries]) => ({
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
      instances: relevant(event).map((i) => ({ target: i.target, status: i.status, add: i.add.length, remove: i.remove.length, error: i.error })),
      conditions: conditions(event),
    }));
}
