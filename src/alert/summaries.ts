import { firstEntries } from "../model/entries.js";
import type { Denial } from "../model/denials.js";
import type { Disagreement } from "../model/provenance.js";
import type { Exposure, HeldBy, InstanceResult, RunResult } from "../model/result.js";

/** An address a source dropped for lack of resolver quorum, with the source. */
export type DroppedAddress = Disagreement & { source: string };

/** Why the run or its instances failed: the one-line summaries alerts carry each name the first few of what they are about. */
export function failureSummary(result: RunResult): string {
  if (result.error) return `run failed, nothing changed: ${result.error.message}`;
  const failed = result.instances.filter((i) => i.status === "failed");
  const details = failed.map((i) => `${i.target}: ${i.error ?? "unknown error"} (left: ${i.state ?? "unknown"})`);
  return `${failed.length} of ${result.instances.length} instances failed: ${details.join("; ")}`;
}

export function heldSummary(held: HeldBy): string {
  return `change held, nothing applied anywhere: ${held.message}`;
}

export function unexpectedSummary(result: RunResult, dropped: ReadonlyArray<DroppedAddress>): string {
  const fate = result.held ? "held" : result.forced && !result.dryRun ? "applied with --force" : "seen";
  const parts = [
    result.unexpected.length > 0 ? `${result.unexpected.length} new entries outside guards.expected (${fate}): ${firstEntries(result.unexpected)}` : "",
    dropped.length > 0
      ? `${dropped.length} addresses dropped for lack of resolver quorum: ${firstEntries(dropped.map((d) => `${d.address} (${d.source}: only ${d.returnedBy.join(", ") || "no resolver"})`))}`
      : "",
  ].filter((p) => p !== "");
  return parts.join("; ");
}

export function changedSummary(result: RunResult, changed: { add: string[]; remove: string[]; instances: number }): string {
  const { add, remove } = changed;
  const parts = [...add.map((e) => `+${e}`), ...remove.map((e) => `-${e}`)];
  const flapping = Object.entries(result.flaps).filter(([, n]) => n > 1);
  const flapText = flapping.length > 0 ? `; came and went in the last day: ${firstEntries(flapping.map(([e, n]) => `${e} (${n}x)`))}` : "";
  return `applied +${add.length}/-${remove.length} on ${changed.instances} instance(s): ${firstEntries(parts)}${flapText}`;
}

/** Owned entries changed behind this tool's back on every instance, with what the run did about them; none when there are none. */
export function driftSummary(instances: ReadonlyArray<InstanceResult>): string | undefined {
  const fate = (status: string, done: string, todo: string) => (status === "applied" ? done : status === "held" ? `held, not ${done}` : todo);
  const lines = instances.flatMap((i) => [
    ...(i.unexpected ?? []).map((e) => `${e} on ${i.target} (never planned; ${fate(i.status, "removed", "to be removed")})`),
    ...(i.vanished ?? []).map((e) => `${e} vanished from ${i.target} (${fate(i.status, "restored", "to be restored")})`),
  ]);
  return lines.length > 0 ? `${lines.length} owned entries changed behind this tool's back: ${firstEntries(lines)}` : undefined;
}

export function exposureSummary(exposures: ReadonlyArray<Exposure & { target: string }>): string {
  const lines = exposures.map(
    (e) =>
      `${e.address} admitted by ${e.owner} entry ${e.entry}${e.value === null ? "" : ` (${e.value})`} on ${e.target}: ${e.reason}${e.detail ? ` (${e.detail})` : ""}`,
  );
  return `${exposures.length} exposure(s), admitted although they should not be: ${firstEntries(lines)}`;
}

/** `2 published address(es) denied by HAProxy: 34.66.25.221 (stale, 12 requests, last 18:00:00Z), …` */
export function deniedRunnerSummary(runners: ReadonlyArray<Denial>): string {
  const lines = runners.map((d) => `${d.address} (${d.reason}, ${d.requests} requests, last ${d.lastSeen}): ${d.detail}`);
  return `${runners.length} published address(es) denied by HAProxy, runners turned away: ${firstEntries(lines)}`;
}
