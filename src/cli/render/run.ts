import type { DesiredSummary, Exposure, Findings, InstanceResult, RunResult, SourceStatus } from "../../model/result.js";
import { type InstanceDrift, needsAttention, type StatusReport } from "../../model/status.js";
import { deniedLines } from "./status-denied.js";
import type { DesiredSet } from "../../model/desired.js";
import { ADVICE } from "../../plan/guards.js";
import { withoutAdvice } from "../guard-advice.js";
import { type ExitCode, exitCodeOf } from "../exit.js";

/** A run as the CLI shows it: the result, and the exit code its outcome maps to. */
export type ShownRun = RunResult & { exitCode: ExitCode };

export function shownRun(result: RunResult, options: { detailedExitcode: boolean }): ShownRun {
  return { ...result, exitCode: exitCodeOf("sync", result.outcome, options) };
}

/** A status report as the CLI shows it, with its exit code. */
export type ShownStatus = StatusReport & { exitCode: ExitCode };

export function shownStatus(report: StatusReport, options: { detailedExitcode: boolean }): ShownStatus {
  return { ...report, exitCode: exitCodeOf("status", report.outcome, options) };
}

const LIST_LIMIT = 50;

function listed(sign: string, entries: readonly string[]): string[] {
  const lines = entries.slice(0, LIST_LIMIT).map((e) => `  ${sign} ${e}`);
  if (entries.length > LIST_LIMIT) lines.push(`  ${sign} … (+${entries.length - LIST_LIMIT} more; --output json lists all)`);
  return lines;
}

/** Not `~`, which reads as "changed in place" to anyone used to terraform: the entry stays, its removal is in question. */
const PENDING_MARK = "?";

function pendingLines(pending: ReadonlyArray<{ entry: string; removeAt: string }>): string[] {
  return listed(
    PENDING_MARK,
    pending.map((p) => `${p.entry} (absent upstream; kept until ${p.removeAt})`),
  );
}

/** Warnings, drift, duplicates and exposures of one instance, as indented lines. */
function findingLines(findings: Partial<Findings> & { warnings?: string[] }): string[] {
  const lines: string[] = (findings.warnings ?? []).map((w) => `  WARNING: ${w}`);
  lines.push(
    ...listed(
      "!",
      (findings.unexpected ?? []).map((e) => `${e} (never planned by this tool: drift, no grace period)`),
    ),
  );
  lines.push(
    ...listed(
      "!",
      (findings.vanished ?? []).map((e) => `${e} (put in place by this tool, then removed behind its back: drift)`),
    ),
  );
  for (const d of findings.duplicates ?? []) lines.push(`  duplicate: ${d.entry} is held under ${d.values.length} values (${d.values.join(", ")})`);
  for (const e of (findings.exposures ?? []).slice(0, LIST_LIMIT)) lines.push(`  EXPOSED: ${exposureText(e)}`);
  const more = (findings.exposures?.length ?? 0) - LIST_LIMIT;
  if (more > 0) lines.push(`  EXPOSED: … (+${more} more; --output json lists all)`);
  if (findings.uncheckedRemovals) lines.push(`  note: ${findings.uncheckedRemovals} removed entries were not put to the matcher this run (limit per run)`);
  return lines;
}

const REASONS: Record<Exposure["reason"], string> = {
  excluded: "excluded, but admitted",
  removed: "removed, but still admitted",
  "too-broad": "broader than the prefix guards allow",
};

export function exposureText(e: Exposure): string {
  const value = e.value === null ? "" : ` ${e.value}`;
  const who = e.owner === "self" ? "this tool's entry" : "foreign entry";
  const entry = e.key ? `${e.entry} (held as ${e.key})` : e.entry;
  return e.reason === "too-broad"
    ? `${who} ${entry}${value}: ${e.detail ?? REASONS[e.reason]} (admits ${e.address} and more)`
    : `${e.address}: ${REASONS[e.reason]} by ${who} ${entry}${value}`;
}

function flapLines(flaps: Record<string, number>): string[] {
  const flapping = Object.entries(flaps).sort((a, b) => b[1] - a[1]);
  if (flapping.length === 0) return [];
  return [
    "",
    `Came and went in the last day: ${flapping
      .slice(0, 10)
      .map(([entry, n]) => `${entry} (${n}x)`)
      .join(", ")}${flapping.length > 10 ? ", …" : ""}`,
  ];
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `43 entries (sha256:…)`, or unknown when the sources failed. */
function desiredText(desired: DesiredSummary): string {
  return desired.digest === null ? "unknown (the sources could not be read)" : `${plural(desired.count, "entry", "entries")} (${shortDigest(desired.digest)})`;
}

function shortDigest(digest: string | null): string {
  return digest ? `${digest.slice(0, 19)}…` : "none";
}

function renderInstance(instance: InstanceResult): string[] {
  const version = instance.haproxyVersion ? ` (HAProxy ${instance.haproxyVersion})` : "";
  const lines = [`${instance.target}${version}: ${instance.status}`];
  lines.push(...listed("+", instance.add), ...listed("-", instance.remove), ...pendingLines(instance.pendingRemoval));
  if (instance.rewrite && (instance.rewrite.length > 0 || (instance.superseded ?? 0) > 0)) {
    lines.push(
      `  ${plural(instance.rewrite.length, "owned entry", "owned entries")} rewritten to the current value, ${instance.superseded ?? 0} old or extra copies dropped`,
    );
  }
  lines.push(...findingLines(instance));
  if (instance.status === "failed") {
    lines.push(`  error${instance.errorCode ? ` ${instance.errorCode}` : ""}: ${instance.error ?? "unknown"}`);
    if (instance.state) lines.push(`  left: ${instance.state}`);
    return lines;
  }
  const unchanged = (instance.ownedCount ?? 0) - instance.remove.length;
  const verb = instance.status === "applied" ? "added" : "to add";
  const removed = instance.status === "applied" ? "removed" : "to remove";
  lines.push(
    `  ${instance.add.length} ${verb}, ${instance.remove.length} ${removed}, ${unchanged} unchanged, ${plural(instance.foreignCount ?? 0, "foreign entry", "foreign entries")} untouched`,
  );
  return lines;
}

/** A plan written by `--plan-out`, and the file's sha256 (what `sha256sum` prints, and the audit trail records once it is applied). */
export interface SavedPlan {
  path: string;
  digest: string;
}

function tripLines(trips: ReadonlyArray<{ message: string }>): string[] {
  return trips.map((trip) => `  ${withoutAdvice(trip.message)}`);
}

/** The guards of a hold that no approval sets aside (minEntries, maxAddresses): their messages carry no approval advice. */
function unapprovable(held: ShownRun["held"]): string[] {
  return (held?.trips ?? []).filter((trip) => !trip.message.endsWith(ADVICE)).map((trip) => trip.guard);
}

function savedPlanLine(saved: SavedPlan, held: ShownRun["held"]): string {
  const blocking = unapprovable(held);
  if (blocking.length > 0)
    return `Plan saved to ${saved.path} (${saved.digest}): applying it would be held again, since no approval sets aside ${blocking.join(", ")}; fix what it names first`;
  const next = held ? "check the Travis IP page, then approve exactly this change" : "review it, then apply exactly it";
  return `Plan saved to ${saved.path} (${saved.digest}): ${next}: travis-allowlist sync --plan ${saved.path}`;
}

/** Human-readable run result, in the spirit of `terraform plan`. */
export function renderRunText(result: ShownRun, savedPlan?: SavedPlan): string {
  const sources = result.sources.map((s) => (s.status === "ok" ? `${s.name} (${s.count})` : `${s.name} (FAILED)`)).join(", ");
  // No source was asked: the run stopped before (the run lock, the state directory).
  const lines =
    result.sources.length === 0 && result.error
      ? ["Desired set: not resolved (the run did not start)"]
      : [`Desired set: ${desiredText(result.desired)} from ${sources || "no sources"}`];
  if (result.error) lines.push(`Error: ${result.error.message}`);
  if (result.stateNotice) lines.push(`Note: ${result.stateNotice}`);
  if (result.noGrace) lines.push("No grace: absent entries are removed at once (--no-grace).");
  for (const instance of result.instances) lines.push("", ...renderInstance(instance));
  lines.push(...flapLines(result.flaps));
  if (result.held) {
    lines.push("", `Held, nothing applied anywhere:`, ...tripLines(result.held.trips));
    // One guard that no approval sets aside makes approving the rest pointless.
    if (unapprovable(result.held).length === 0 && !savedPlan)
      lines.push("Check the Travis IP page, then approve exactly this change: travis-allowlist sync --dry-run --plan-out FILE, then sync --plan FILE");
  }
  if (result.reviewedPlan) {
    const { createdAt, digest } = result.reviewedPlan;
    if (result.overridden.length === 0) lines.push("", `Reviewed plan of ${createdAt} (${digest}).`);
    else lines.push("", `Reviewed plan of ${createdAt} (${digest}); these guards were reviewed with it:`, ...tripLines(result.overridden));
  } else if (result.overridden.length > 0) {
    lines.push("", "Forced: these guards were set aside by --force:", ...tripLines(result.overridden));
  }
  for (const alert of result.alerts.filter((a) => !a.ok))
    lines.push("", `Alert not delivered: ${alert.errorCode ? `${alert.errorCode}: ` : ""}${alert.error ?? "unknown error"}`);
  lines.push("");
  if (savedPlan) lines.push(savedPlanLine(savedPlan, result.held));
  if (result.dryRun) lines.push("Dry run: nothing was changed.");
  else if (result.exitCode === 0) {
    const exposed = result.instances.reduce((n, i) => n + (i.exposures?.length ?? 0), 0);
    const done = result.instances.some((i) => i.status === "applied") ? "Applied and verified" : "In sync: nothing to do";
    lines.push(exposed > 0 ? `${done}, but ${exposed} exposure(s) above admit addresses that should be denied.` : `${done}.`);
  } else lines.push(`Finished with exit code ${result.exitCode}.`);
  return `${lines.join("\n")}\n`;
}

/** The desired set with where each entry came from, and what the resolvers disagreed on. */
export function renderDesiredText(desired: DesiredSet, sources: SourceStatus[] = []): string {
  const lines = [`${desired.entries.length} entries (${shortDigest(desired.digest)})`];
  for (const entry of desired.entries) {
    const origins = entry.provenance.map((p) => {
      const where = p.hostname ? ` ${p.hostname}` : "";
      const via = p.resolvers?.length ? ` @${p.resolvers.join(",")}` : p.url ? ` ${p.url}` : "";
      const ttl = p.ttl !== undefined ? ` ttl=${p.ttl}` : "";
      return `${p.source}${where}${via}${ttl}`;
    });
    lines.push(`  ${entry.cidr.text.padEnd(20)} ${origins.join("; ")}`);
  }
  for (const e of desired.excluded) lines.push(`  excluded ${e.entry} by ${e.by}`);
  for (const r of desired.rejected) lines.push(`  REJECTED ${JSON.stringify(r.value)} from ${r.source}: ${r.reason}`);
  for (const source of sources) {
    for (const d of source.disagreements ?? []) {
      const fate = d.counted ? "kept" : "DROPPED (below the quorum)";
      lines.push(
        `  disagreement ${d.address} (${d.hostname}, ${source.name}): returned by ${d.returnedBy.join(", ")}; missing from ${d.missingFrom.join(", ")}; ${fate}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

export function desiredJson(desired: DesiredSet): object {
  return {
    version: 1,
    count: desired.entries.length,
    digest: desired.digest,
    entries: desired.entries.map((e) => ({ entry: e.cidr.text, provenance: e.provenance })),
    excluded: desired.excluded,
    rejected: desired.rejected,
  };
}

/** Status per instance; instances in the same state are shown once, as a group. */
export function renderStatusText(report: StatusReport): string {
  const failed = report.sources.filter((s) => s.status === "failed");
  const unknown = report.inSync === null && failed.length > 0;
  const lines = unknown
    ? [`Desired set: unknown, because ${failed.map((s) => `source ${s.name} failed (${s.errorCode ?? "E_INTERNAL"}: ${s.error ?? "no message"})`).join("; ")}`]
    : [`Desired set: ${desiredText(report.desired)}`];
  if (report.error && !unknown) lines.push(`Error: ${report.error.message}`);
  if (report.stateNotice) lines.push(`Note: ${report.stateNotice}`);
  const groups = new Map<string, InstanceDrift[]>();
  for (const instance of report.instances) {
    const { target: _target, ...state } = instance;
    const key = JSON.stringify(state);
    groups.set(key, [...(groups.get(key) ?? []), instance]);
  }
  for (const members of groups.values()) {
    const [first] = members;
    if (!first) continue;
    const who = members.length === 1 ? first.target : `${members.length} instances: ${members.map((m) => m.target).join(", ")}`;
    lines.push("", who);
    if (first.error) {
      lines.push(`  error${first.errorCode ? ` ${first.errorCode}` : ""}: ${first.error}`);
      continue;
    }
    lines.push(
      `  HAProxy ${first.haproxyVersion ?? "?"}, ${plural(first.liveCount, "live entry", "live entries")} (${first.ownedCount} owned, ${first.foreignCount} foreign)`,
    );
    const rewrite = first.rewrite ? `, ${first.rewrite.length} to rewrite to the current value` : "";
    const missing = first.missing ?? [];
    const remove = first.remove ?? [];
    if (first.inSync === null) lines.push("  in sync: unknown without the desired set (drift and exposures below are judged from the last run's record)");
    else lines.push(first.inSync ? "  in sync" : `  out of sync: ${missing.length} missing, ${remove.length} to remove${rewrite}`);
    lines.push(
      ...listed("missing", missing),
      ...listed(
        "remove",
        remove.filter((e) => !first.unexpected.includes(e)),
      ),
      ...pendingLines(first.pendingRemoval ?? []),
    );
    lines.push(...findingLines(first), ...deniedLines(first, report.deniedTable));
  }
  lines.push(...flapLines(report.flaps));
  const attention = report.instances.some((i) => !i.error && needsAttention(i) && i.inSync);
  const verdict = report.inSync ? (attention ? "All instances are in sync, with findings above." : "All instances are in sync.") : "Not in sync.";
  lines.push("", report.inSync === null ? "In sync: unknown, the desired set could not be resolved (see above); nothing was changed." : verdict);
  return `${lines.join("\n")}\n`;
}
