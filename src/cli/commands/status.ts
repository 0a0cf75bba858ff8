import { renderStatusText, shownStatus } from "../render/run.js";
import { inspect } from "../../reconcile/status.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { statusDeps } from "../wiring.js";

export async function statusCommand(global: GlobalOptions, options: { detailedExitcode: boolean; instance?: string[] }, io: Io): Promise<number> {
  const { config, logger, scrubber } = await loadContext(global, io);
  const report = shownStatus(await inspect(config, { ...statusDeps(config, logger, scrubber, options.instance), now: io.now }), options);
  await io.stdout(global.output === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderStatusText(report));
  return report.exitCode;
}
