import { stringify } from "yaml";
import { redactConfig } from "../config/redact.js";
import { HaproxyInstance } from "../haproxy/runtime.js";
import { EXIT } from "../model/result.js";
import { desiredJson, renderDesiredText, renderRunText } from "../plan/render.js";
import { resolveDesired, runOnce } from "../reconcile/run.js";
import { AuditTrail } from "../audit/trail.js";
import { renderAuditLine } from "../audit/render.js";
import { currentActor } from "../audit/actor.js";
import type { AuditContext } from "../audit/body.js";
import { canonicalJson, sha256 } from "../audit/canonical.js";
import type { Config } from "../config/schema.js";
import { packageVersion } from "./version.js";
import { buildSource } from "../sources/index.js";
import { type GlobalOptions, type Io, loadContext } from "./context.js";

export interface SyncOptions {
  dryRun: boolean;
  detailedExitcode: boolean;
  force: boolean;
}

export async function syncCommand(global: GlobalOptions, options: SyncOptions, io: Io): Promise<number> {
  const { config, logger } = await loadContext(global, io);
  const timeoutMs = config.haproxy.timeoutMs;
  const sinks = config.alerts?.sinks ?? [];
  // undici is loaded only when there is somewhere to send alerts.
  const notifier = sinks.length > 0 ? (await import("../alert/notifier.js")).createNotifier(sinks) : undefined;
  const result = await runOnce(
    config,
    {
      logger,
      audit: { trail: new AuditTrail(config.audit.path), context: auditContext(config, io.env) },
      sources: config.sources.map((s) => buildSource(s)),
      connect: (target) => HaproxyInstance.connect(target, { timeoutMs }),
      ...(notifier ? { notifier } : {}),
    },
    options,
  );
  await io.stdout(global.output === "json" ? `${JSON.stringify(result, null, 2)}\n` : renderRunText(result));
  return result.exitCode;
}

function auditContext(config: Config, env: Io["env"]): AuditContext {
  return {
    actor: currentActor(env, false),
    toolVersion: packageVersion(),
    configDigest: sha256(canonicalJson(redactConfig(config))),
  };
}

export async function resolveCommand(global: GlobalOptions, io: Io): Promise<number> {
  const { config, logger } = await loadContext(global, io);
  const resolution = await resolveDesired(config, config.sources.map((s) => buildSource(s)), () => new Date());
  if (!resolution.ok) {
    logger.error({ err: resolution.error }, "desired set unavailable");
    if (global.output === "json") {
      await io.stdout(`${JSON.stringify({ version: 1, sources: resolution.sources, error: { code: resolution.error.code, message: resolution.error.message } }, null, 2)}\n`);
    } else {
      io.stderr(`travis-allowlist: ${resolution.error.message}\n`);
    }
    return EXIT.failed;
  }
  const { desired, sources } = resolution;
  await io.stdout(global.output === "json" ? `${JSON.stringify({ ...desiredJson(desired), sources }, null, 2)}\n` : renderDesiredText(desired));
  return EXIT.ok;
}

export async function configCheckCommand(global: GlobalOptions, io: Io): Promise<number> {
  const { config, configPath, warnings } = await loadContext(global, io);
  const effective = redactConfig(config);
  if (global.output === "json") {
    await io.stdout(`${JSON.stringify({ valid: true, path: configPath, warnings, config: effective }, null, 2)}\n`);
  } else {
    const notes = warnings.map((w) => `# warning: ${w.path}: ${w.message}\n`).join("");
    await io.stdout(`# ${configPath}: valid\n${notes}${stringify(effective)}`);
  }
  return EXIT.ok;
}

export async function auditShowCommand(global: GlobalOptions, options: { last: number }, io: Io): Promise<number> {
  const { config } = await loadContext(global, io);
  const records = (await new AuditTrail(config.audit.path).readAll()).slice(-options.last);
  if (global.output === "json") {
    await io.stdout(`${JSON.stringify(records, null, 2)}\n`);
  } else if (records.length === 0) {
    await io.stdout(`no audit records in ${config.audit.path}\n`);
  } else {
    await io.stdout(`${records.map(renderAuditLine).join("\n")}\n`);
  }
  return EXIT.ok;
}

export async function auditVerifyCommand(global: GlobalOptions, io: Io): Promise<number> {
  const { config } = await loadContext(global, io);
  const verdict = await new AuditTrail(config.audit.path).verify();
  if (global.output === "json") {
    await io.stdout(`${JSON.stringify({ path: config.audit.path, ...verdict }, null, 2)}\n`);
  } else if (verdict.ok) {
    const head = verdict.head ? `, head #${verdict.head.seq} ${verdict.head.hash}` : "";
    await io.stdout(`${config.audit.path}: intact, ${verdict.records} records${head}\n`);
  } else {
    await io.stdout(`${config.audit.path}: NOT intact at line ${verdict.line}: ${verdict.reason}\n`);
  }
  return verdict.ok ? EXIT.ok : EXIT.failed;
}
