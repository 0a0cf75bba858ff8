import { UsageError } from "../../errors.js";
import { reportDenials } from "../../reconcile/denials.js";
import { renderDenialsText, shownDenials } from "../render/denials.js";
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
  await io.stdout(global.output === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderDenialsText(report));
  return report.exitCode;
}
