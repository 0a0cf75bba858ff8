import type { Logger } from "pino";
import { stateDirOf } from "../config/paths.js";
import type { Config } from "../config/schema.js";
import { AllowlistError } from "../errors.js";
import { HaproxyInstance } from "../haproxy/runtime.js";
import type { PlanDeps } from "../reconcile/plan-run.js";
import { buildSources } from "../sources/index.js";
import { absenceStore } from "../state/absence-store.js";

/** The real adapters every command that plans a run reads through: sources, instances, the removal state. */
export function planDeps(config: Config, logger: Logger, instances?: ReadonlyArray<string>): PlanDeps & { logger: Logger } {
  const { timeoutMs, tls } = config.haproxy;
  if (instances && instances.length > 0 && !config.haproxy.discover) {
    const unknown = instances.filter((t) => !config.haproxy.sockets.includes(t));
    if (unknown.length > 0)
      throw new AllowlistError("E_INSTANCE_UNKNOWN", `--instance ${unknown.join(", ")}: not in haproxy.sockets (${config.haproxy.sockets.join(", ")})`);
  }
  return {
    logger,
    ...(instances && instances.length > 0 ? { instances } : {}),
    sources: buildSources(config, { stateDir: stateDirOf(config) }),
    connect: (target) => HaproxyInstance.connect(target, { timeoutMs, tls }),
    removalState: absenceStore(stateDirOf(config)),
  };
}
