import { stateDirOf } from "../../config/paths.js";
import { HaproxyInstance } from "../../haproxy/runtime.js";
import { absenceStore } from "../../state/absence-store.js";
import { renderStatusText } from "../../plan/render.js";
import { inspect } from "../../reconcile/status.js";
import { buildSources } from "../../sources/index.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { stderrProgress } from "../progress.js";

export async function statusCommand(global: GlobalOptions, options: { detailedExitcode: boolean }, io: Io): Promise<number> {
  const { config, logger } = await loadContext(global, io);
  const timeoutMs = config.haproxy.timeoutMs;
  const progress = stderrProgress();
  const report = await inspect(
    config,
    {
      logger,
      sources: buildSources(config),
      connect: (target) => HaproxyInstance.connect(target, { timeoutMs }),
      removalState: absenceStore(stateDirOf(config)),
      ...(progress ? { progress } : {}),
    },
    options,
  );
  await io.stdout(global.output === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderStatusText(report));
  return report.exitCode;
}
