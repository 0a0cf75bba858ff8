import { pino } from "pino";
import type { Config } from "../../src/config/schema.js";
import { HaproxyInstance } from "../../src/haproxy/runtime.js";
import type { RunResult } from "../../src/model/result.js";
import { runOnce } from "../../src/reconcile/run.js";
import { buildSource } from "../../src/sources/index.js";

/** One in-process run with the real adapters (sources, runtime client). */
export function syncOnce(config: Config, options: { dryRun?: boolean; detailedExitcode?: boolean } = {}): Promise<RunResult> {
  return runOnce(
    config,
    {
      logger: pino({ level: "silent" }),
      sources: config.sources.map((s) => buildSource(s)),
      connect: (target) => HaproxyInstance.connect(target, { timeoutMs: config.haproxy.timeoutMs }),
    },
    { dryRun: options.dryRun ?? false, detailedExitcode: options.detailedExitcode ?? false },
  );
}
