import type { Logger } from "pino";
import { stateDirOf } from "../config/paths.js";
import type { Config } from "../config/schema.js";
import { HaproxyInstance } from "../haproxy/runtime.js";
import type { PlanDeps } from "../reconcile/plan-run.js";
import { buildSources } from "../sources/index.js";
import { absenceStore } from "../state/absence-store.js";

/** The real adapters every command that plans a run reads through: sources, instances, the removal state. */
export function planDeps(config: Config, logger: Logger): PlanDeps & { logger: Logger } {
  const { timeoutMs, tls } = config.haproxy;
  return {
    logger,
    sources: buildSources(config),
    connect: (target) => HaproxyInstance.connect(target, { timeoutMs, tls }),
    removalState: absenceStore(stateDirOf(config)),
  };
}
