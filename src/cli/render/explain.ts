import type { ExplainedAddress, ExplainInstance, ExplainReport } from "../../reconcile/explain.js";
import { type ExitCode, exitCodeOf } from "../exit.js";

/** An explain report as the CLI shows it, with its exit code. */
export type ShownExplain = ExplainReport & { exitCode: ExitCode };

export function shownExplain(report: ExplainReport, options: { detailedExitcode: boolean }): ShownExplain {
  return { ...report, exitCode: exitCodeOf("explain", report.outcome, options) };
}

function answerLine(i: ExplainInstance): string {
  if (i.admitted === null) return `  ${i.target}: not asked (${i.error ?? "unknown error"})`;
  if (!i.admitted) return `  ${i.target}: DENIED (no entry matches)`;
  const whose = i.owner === "self" ? "this tool's entry" : "a foreign entry";
  const value = i.value === null ? "" : ` ${i.value}`;
  const pending = i.pendingRemoval ? `; absent upstream, kept until ${i.pendingRemoval}` : "";
  const drift = i.unexpected ? "; never planned by this tool (drift): the next sync removes it" : "";
  const held = i.key ? ` (held as ${i.key})` : "";
  return `  ${i.target}: admitted by ${whose} ${i.entry ?? "?"}${held}${value}${pending}${drift}`;
}

/** What the instance's denied clients' table counts for the address; nothing without haproxy.denials, nor when the instance itself was not asked. */
function deniedLines(i: ExplainInstance): string[] {
  if (i.denied) return [`    turned away: ${i.denied.requests} ${i.denied.requests === 1 ? "request" : "requests"}, the last at ${i.denied.lastSeen}`];
  if (i.deniedError && i.admitted !== null) return [`    denied clients not read (${i.deniedError.code}: ${i.deniedError.message})`];
  return [];
}

function addressLines(a: ExplainedAddress): string[] {
  const lines = [a.address];
  if (a.desired === null) lines.push("  desired: unknown (the sources could not be read)");
  else if (a.excludedBy) lines.push(`  desired: no, excluded by ${a.excludedBy}`);
  else if (!a.desired) lines.push("  desired: no (no source publishes it)");
  else {
    const origins = a.provenance.map((p) => {
      const where = [p.name, p.resolver ? `@${p.resolver}` : null].filter((x) => x !== null).join(" ");
      const seen = p.firstSeen ? `, first added ${p.firstSeen}` : "";
      return `${p.source}${where ? ` (${where})` : ""} as ${p.entry}${seen}`;
    });
    lines.push(`  desired: yes, from ${origins.join("; ")}`);
  }
  for (const i of a.instances) {
    lines.push(answerLine(i), ...deniedLines(i));
    for (const h of i.history) lines.push(`    ${h.time} ${h.action} ${h.entry} by run ${h.runId} (${h.actor})`);
  }
  return lines;
}

/** For people: per address, what HAProxy answers on each instance, why, and since when. */
export function renderExplainText(report: ExplainReport): string {
  const lines: string[] = [];
  if (report.error) lines.push(`Error: ${report.error.message}`, "");
  report.addresses.forEach((a, n) => lines.push(...(n > 0 ? [""] : []), ...addressLines(a)));
  return `${lines.join("\n")}\n`;
}
