import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface DocumentedRun {
  args: string[];
  /** Output lines, in order; other lines may come between them (the README shows `…`). */
  lines: string[];
  exit: number;
}

/** The commands and output shown in a page's worked example under `## heading`. */
export function documentedRuns(page: string, heading: string): DocumentedRun[] {
  const text = readFileSync(join(ROOT, page), "utf8");
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`${page} has no section ${heading}`);
  const end = text.indexOf("\n## ", start + 1);
  const section = text.slice(start, end === -1 ? undefined : end);
  const runs: DocumentedRun[] = [];
  for (const line of section.split("\n")) {
    if (!line.startsWith("    ")) continue;
    const body = line.slice(4);
    if (body.startsWith("$ travis-allowlist ")) {
      runs.push({ args: body.slice("$ travis-allowlist ".length).split(" "), lines: [], exit: 0 });
      continue;
    }
    const run = runs.at(-1);
    if (!run || body.trim() === "…") continue;
    const exit = /^(.*?)\s+\(exit (\d+)\)$/.exec(body);
    if (exit) run.exit = Number(exit[2]);
    run.lines.push((exit ? (exit[1] as string) : body).trimEnd());
  }
  return runs;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

/** What differs between the README's machine and this one: times, paths, versions, run ids, the actor, the resolver. */
function pattern(documented: string): RegExp {
  const source = escape(documented.replace(ISO, "\u0000"))
    .replaceAll("\u0000", ISO.source)
    .replace(escape("unix:///run/haproxy/admin.sock"), "unix://\\S+")
    .replace(/HAProxy \d+\\\.\d+\\\.\d+/, "HAProxy [\\d.]+(?:-\\S+)?")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "[0-9a-f-]{36}")
    .replace(escape("deploy@ops-1"), "\\S+")
    .replace(escape("@10.96.0.10"), "@\\S+");
  return new RegExp(`^${source}$`);
}

/** Each documented line matches an output line, in the same order. */
export function missingLines(documented: string[], output: string[]): string[] {
  let at = 0;
  const missing: string[] = [];
  for (const line of documented) {
    const re = pattern(line);
    const found = output.findIndex((o, i) => i >= at && re.test(o.trimEnd()));
    if (found === -1) missing.push(line);
    else at = found + 1;
  }
  return missing;
}
