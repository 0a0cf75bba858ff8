import { desiredJson, renderDesiredText } from "../render/run.js";
import { resolveDesired } from "../../reconcile/desired.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { EXIT } from "../exit.js";
import { SHOWN_IN_RESULT } from "../../util/log-fields.js";
import { desiredSources } from "../wiring.js";

export async function resolveCommand(global: GlobalOptions, io: Io): Promise<number> {
  const { config, logger, scrubber } = await loadContext(global, io);
  const resolution = await resolveDesired(config, desiredSources(config, scrubber), io.now);
  const error = resolution.ok ? null : { code: resolution.error.code, message: resolution.error.message };
  if (!resolution.ok) logger.error({ err: resolution.error, ...SHOWN_IN_RESULT }, "desired set unavailable");
  if (global.output === "json") {
    const desired = resolution.desired ? desiredJson(resolution.desired) : { version: 1 };
    await io.stdout(`${JSON.stringify({ ...desired, sources: resolution.sources, error }, null, 2)}\n`);
  } else {
    if (resolution.desired) await io.stdout(renderDesiredText(resolution.desired, resolution.sources));
    if (error) io.stderr(`error ${error.code}: ${error.message}\n`);
  }
  return resolution.ok ? EXIT.ok : EXIT.failed;
}
