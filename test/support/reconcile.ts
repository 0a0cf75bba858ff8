import { pino } from "pino";
import type { Config } from "../../src/config/schema.js";
import { HaproxyInstance } from "../../src/haproxy/runtime.js";
import type { RunResult } from "../../src/model/result.js";
import { runOnce } from "../../src/reconcile/run.js";
import { buildSources } from "../../src/sources/index.js";
import { AuditTrail } from "../../src/audit/trail.js";
import type { AuditContext } from "../../src/audit/body.js";

export const TEST_AUDIT_CONTEXT: AuditContext = {
  actor: { user: "test", host: "localhost", trigger: "manual" },
  toolVersion: "0.0.0-test",
  configDigest: "sha256:test",
};

/** One in-process run with the real adapters (sources, runtime client). */
export function syncOnce(config: Config, options: { dryRun?: boolean; detailedExitcode?: boolean } = {}): Promise<RunResult> {
  return runOnce(
    config,
    {
      logger: pino({ level: "silent" }),
      audit: { trail: new AuditTrail(config.audit.path), context: TEST_AUDIT_CONTEXT },
      sources: buildSources(config),
      connect: (target) => HaproxyInstance.connect(target, { timeoutMs: config.haproxy.timeoutMs }),
    },
    { dryRun: options.dryRun ?? false, detailedExitcode: options.detailedExitcode ?? false },
  );
}
