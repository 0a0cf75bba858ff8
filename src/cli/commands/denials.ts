import { UsageError } from "../../errors.js";
import { reportDenials } from "../../reconcile/denials.js";
import { denialsJson, renderDenialsText, shownDenials } from "../render/denials.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { explainDeps } from "../wiring.js";

export interface DenialsCliOptions {
  detailedExitcode: boolean;
  instance?: string[];
  /** `--since`, parsed. */
  since?: number;
}

export async function denialsCommand(global: GlobalOptions, options: DenialsCliOptions, io: Io): Promise<number> {
  const { config, logger, scrubber } = await loadContext(global, io);
  const table = config.haproxy.denials;
  if (!table)
    throw new UsageError(
      "denials: haproxy.denials.table is not set: add the denied clients' stick table to haproxy.cfg and name it there (recipe: docs/haproxy.md, Denied clients)",
    );
  const deps = { ...explainDeps(config, logger, scrubber, options.instance), now: io.now };
  const report = shownDenials(await reportDenials(config, deps, { table, ...(options.since === undefined ? {} : { sinceMs: options.since }) }), options);
  if (global.output === "json") await writeInPieces(io, denialsJson(report));
  else await io.stdout(renderDenialsText(report));
  return report.exitCode;
}

/** Enough text per write that a write costs little, little enough that the whole report is never one string. */
const WRITE_BYTES = 64 * 1024;

async function writeInPieces(io: Io, pieces: Iterable<string>): Promise<void> {
  let pending: string[] = [];
  let length = 0;
  for (const piece of pieces) {
    pending.push(piece);
    length += piece.length;
    if (length < WRITE_BYTES) continue;
    await io.stdout(pending.join(""));
    pending = [];
    length = 0;
  }
  if (pending.length > 0) await io.stdout(pending.join(""));
}
