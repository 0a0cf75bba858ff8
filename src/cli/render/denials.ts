import type { Denial, DenialsReport, TableSummary } from "../../model/denials.js";
import { isDeniedRunner } from "../../plan/denial-reasons.js";
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

/**
 * Denials a person is shown, the most urgent first: a table may list a hundred thousand
 * clients, more than anyone reads at a terminal; `--output json` lists every one.
 */
export const DENIALS_SHOWN = 100;

function notShownLine(rest: ReadonlyArray<Denial>): string[] {
  if (rest.length === 0) return [];
  const runners = rest.filter(isDeniedRunner).length;
  const published = runners === 0 ? "" : `, ${runners} of them published and still denied`;
  return [`… and ${rest.length} more denied clients${published}: --output json lists every one`];
}

/** For people: the most urgent denied addresses (published ones first) with why, a count of the rest; then any table not read whole. */
export function renderDenialsText(report: DenialsReport): string {
  const lines: string[] = [];
  if (report.error) lines.push(`Error: ${report.error.message}`, "");
  if (report.denials.length === 0 && !report.error) lines.push("No denied clients.");
  for (const d of report.denials.slice(0, DENIALS_SHOWN)) lines.push(...denialLines(d));
  lines.push(...notShownLine(report.denials.slice(DENIALS_SHOWN)));
  lines.push(...report.tables.flatMap(tableLine));
  return `${lines.join("\n")}\n`;
}

const JSON_INDENT = 2;
/** Where the denials go in the report as stringified with none: `"denials": []` at the top level. */
const EMPTY_DENIALS = `\n${" ".repeat(JSON_INDENT)}"denials": []`;
/** Denials stringified at once: one call per few hundred costs less than one per denial, and a piece stays small. */
const DENIALS_PER_PIECE = 200;

/**
 * `JSON.stringify(report, null, 2)` and a newline, in pieces of some denials each: the
 * report of a full table is some 50 MB of text, which need never be held at once.
 */
export function* denialsJson(report: ShownDenials): Generator<string> {
  const whole = `${JSON.stringify({ ...report, denials: [] }, null, JSON_INDENT)}\n`;
  const at = whole.indexOf(EMPTY_DENIALS) + EMPTY_DENIALS.length - 1;
  if (report.denials.length === 0) {
    yield whole;
    return;
  }
  yield whole.slice(0, at);
  const deeper = `\n${" ".repeat(JSON_INDENT)}`;
  for (let from = 0; from < report.denials.length; from += DENIALS_PER_PIECE) {
    const piece = JSON.stringify(report.denials.slice(from, from + DENIALS_PER_PIECE), null, JSON_INDENT).replaceAll("\n", deeper);
    // `[⏎    {…},⏎    {…}⏎  ]`: the elements, indented as the report's, without the brackets.
    yield `${from === 0 ? "" : ","}${piece.slice(1, piece.length - deeper.length - 1)}`;
  }
  yield `${deeper}${whole.slice(at)}`;
}
