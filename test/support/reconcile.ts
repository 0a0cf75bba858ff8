import { pino } from "pino";
import type { AuditContext } from "../../src/audit/body.js";
import { AuditTrail } from "../../src/audit/trail.js";
import type { Config } from "../../src/config/schema.js";
import type { RunDeps, RunOptions } from "../../src/reconcile/deps.js";
import { acquireRunLock } from "../../src/cli/run-lock.js";
import { runOnce } from "../../src/reconcile/run.js";
import { type ShownRun, shownRun } from "../../src/cli/render/run.js";
import { planDeps } from "../../src/cli/wiring.js";
import { literalSecrets } from "../../src/config/redact.js";
import { Scrubber } from "../../src/util/secrets.js";

export const TEST_AUDIT_CONTEXT: AuditContext = {
  actor: { user: "test", host: "localhost", trigger: "manual" },
  toolVersion: "0.0.0-test",
  configDigest: "sha256:test",
};

/** The real adapters for a config, as the CLI wires them, quiet. */
export function realDeps(config: Config): RunDeps {
  return {
    ...planDeps(config, pino({ level: "silent" }), new Scrubber(literalSecrets(config))),
    audit: { trail: new AuditTrail(config.audit.path, { key: config.audit.key }), context: TEST_AUDIT_CONTEXT },
    runLock: () => acquireRunLock(config),
  };
}

/** One in-process run with the real adapters, as `sync` shows it (with its exit code); `deps` replaces any of them. */
export async function syncOnce(
  config: Config,
  options: Partial<RunOptions> & { detailedExitcode?: boolean } = {},
  deps: Partial<RunDeps> = {},
): Promise<ShownRun> {
  const { detailedExitcode = false, ...runOptions } = options;
  return shownRun(await runOnce(config, { ...realDeps(config), ...deps }, { dryRun: false, ...runOptions }), { detailedExitcode });
}
