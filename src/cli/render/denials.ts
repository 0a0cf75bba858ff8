import type { Denial, DenialsReport, TableSummary } from "../../model/denials.js";
import { type ExitCode, exitCodeOf } from "../exit.js";

/** A denials report as the CLI shows it, with its exit code. */
export type ShownDenials = DenialsReport & { exitCode: ExitCode };

export function shownDenials(report: DenialsReport, options: { detailedExitcode: boolean }): ShownDenials {
  return { ...report, exitCode: exitCodeOf("denials", report.outcome, options) };
}

function denialLines(d: Denial): string[] {
  const on = d.instances.length === 1 ? "1 instance" : `${d.instances.length} instances`;
  return [`${d.address.padEnd(15)}  ${d.reason.padEnd(11)}  ${String(d.requests).padStart(6)} requests  last ${d.lastSeen}  (${on})`, `  ${d.detail}`];
}

/** A table worth a person's attention: not read, or not all of it; a table read whole is in the JSON result only. */
function tableLine(t: TableSummary): string[] {
  if (t.error) return [`${t.target}: table ${t.table} not read (${t.error.code}: ${t.error.message})`];
  const notes = [
    ...(t.skipped > 0 ? [`${t.skipped} entries skipped (not an address)`] : []),
    ...(t.truncated ? ["truncated: the table is full or past the clients kept per run, so this is a recent sample"] : []),
  ];
  return notes.length === 0 ? [] : [`${t.target}: table ${t.table}, ${t.entries} entries: ${notes.join("; ")}`];
}

/** For people: each denied address, published ones first, with why; then any table not read whole. */
export function renderDenialsText(report: DenialsReport): string {
  const lines: string[] = [];
  if (report.error) lines.push(`Error: ${report.error.message}`, "");
  if (report.denials.length === 0 && !report.error) lines.push("No denied clients.");
  for (const d of report.denials) lines.push(...denialLines(d));
  lines.push(...report.tables.flatMap(tableLine));
  return `${lines.join("\n")}\n`;
}
