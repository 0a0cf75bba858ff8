import { currentActor } from "../../audit/actor.js";
import type { AuditContext } from "../../audit/body.js";
import { canonicalJson, sha256 } from "../../audit/canonical.js";
import { AuditTrail } from "../../audit/trail.js";
import { redactConfig } from "../../config/redact.js";
import type { Config } from "../../config/schema.js";
import { HaproxyInstance } from "../../haproxy/runtime.js";
import { renderRunText } from "../../plan/render.js";
import { runOnce } from "../../reconcile/run.js";
import { buildSources } from "../../sources/index.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { terminalProgress } from "../progress.js";
import { packageVersion } from "../version.js";

export interface SyncOptions {
  dryRun: boolean;
  detailedExitcode: boolean;
  force: boolean;
}

function auditContext(config: Config, env: Io["env"]): AuditContext {
  return {
    actor: currentActor(env, false),
    toolVersion: packageVersion(),
    configDigest: sha256(canonicalJson(redactConfig(config))),
  };
}

export async function syncCommand(global: GlobalOptions, options: SyncOptions, io: Io): Promise<number> {
  const { config, logger } = await loadContext(global, io);
  const timeoutMs = config.haproxy.timeoutMs;
  const sinks = config.alerts?.sinks ?? [];
  const notifier = sinks.length > 0 ? (await import("../../alert/notifier.js")).createNotifier(sinks) : undefined;
  const progress = terminalProgress(process.stderr);
  const result = await runOnce(
    config,
    {
      logger,
      audit: { trail: new AuditTrail(config.audit.path), context: auditContext(config, io.env) },
      sources: buildSources(config),
      connect: (target) => HaproxyInstance.connect(target, { timeoutMs }),
      ...(notifier ? { notifier } : {}),
      ...(progress ? { progress } : {}),
    },
    options,
  );
  await io.stdout(global.output === "json" ? `${JSON.stringify(result, null, 2)}\n` : renderRunText(result));
  return result.exitCode;
}
