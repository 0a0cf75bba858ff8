/**
 * The composition root: every command gets its adapters here, built from the
 * config, so that commands only say what they do with them.
 */
import { dirname } from "node:path";
import type { Logger } from "pino";
import { currentActor } from "../audit/actor.js";
import type { AuditContext } from "../audit/body.js";
import { AuditTrail } from "../audit/trail.js";
import { stateDirOf } from "../config/paths.js";
import { redactConfig } from "../config/redact.js";
import type { Config, ConfigFile } from "../config/schema.js";
import type { Processes } from "../daemon/watch.js";
import { AllowlistError } from "../errors.js";
import { resolveTargets } from "../haproxy/discover.js";
import { HaproxyInstance } from "../haproxy/runtime.js";
import type { RunDeps } from "../reconcile/deps.js";
import type { ExplainDeps } from "../reconcile/explain.js";
import type { PlanDeps } from "../reconcile/plan-run.js";
import { buildSources } from "../sources/index.js";
import type { Source } from "../sources/types.js";
import { AbsenceStore } from "../state/absence-store.js";
import { alertStore } from "../state/alert-store.js";
import { StoredNames } from "../state/stored-names.js";
import { canonicalJson, sha256 } from "../util/canonical.js";
import { holderText, type LockHolder } from "../util/lock.js";
import { mapLimit } from "../util/map-limit.js";
import type { Scrubber } from "../util/secrets.js";
import { assertTrustedPath } from "../util/trusted-path.js";
import type { Io } from "./context.js";
import { stderrProgress } from "./progress.js";
import { acquireRunLock, RUN_LOCK_WAIT_MS } from "./run-lock.js";
import { packageVersion } from "./version.js";

/** Where the desired set comes from: each source, with its HTTP cache in the state directory. */
export function desiredSources(config: Config, scrubber: Scrubber): Source[] {
  return buildSources(config, { stateDir: stateDirOf(config), scrubber });
}

/** What every command that plans a run reads through: sources, instances, the removal state. */
export function planDeps(
  config: Config,
  logger: Logger,
  scrubber: Scrubber,
  instances?: ReadonlyArray<string>,
): PlanDeps & { logger: Logger; scrubber: Scrubber } {
  const { timeoutMs, tls } = config.haproxy;
  if (instances && instances.length > 0 && !config.haproxy.discover) {
    const unknown = instances.filter((t) => !config.haproxy.sockets.includes(t));
    if (unknown.length > 0)
      throw new AllowlistError("E_INSTANCE_UNKNOWN", `--instance ${unknown.join(", ")}: not in haproxy.sockets (${config.haproxy.sockets.join(", ")})`);
  }
  return {
    logger,
    scrubber,
    ...(instances && instances.length > 0 ? { instances } : {}),
    sources: desiredSources(config, scrubber),
    connect: (target, reading) => HaproxyInstance.connect(target, { timeoutMs, tls, scrubber, reading }),
    removalState: new AbsenceStore(stateDirOf(config), storedNames(config, scrubber)),
  };
}

/** The names the state files hold scrubbed when they carry a secret: the sources', the instances', the map's and the alert sinks'. */
function storedNames(config: Config, scrubber: Scrubber, sinkLabels: ReadonlyArray<string> = []): StoredNames {
  return new StoredNames(scrubber, [...config.sources.map((s) => s.name), ...config.haproxy.sockets, config.haproxy.map, ...sinkLabels]);
}

/** `status`: a planned run's view, with progress on a terminal. */
export function statusDeps(config: Config, logger: Logger, scrubber: Scrubber, instances?: ReadonlyArray<string>): PlanDeps & { logger: Logger } {
  const progress = stderrProgress();
  return { ...planDeps(config, logger, scrubber, instances), ...(progress ? { progress } : {}) };
}

/** `explain`: a planned run's view, and the audit trail for each entry's history. */
export function explainDeps(config: Config, logger: Logger, scrubber: Scrubber, instances?: ReadonlyArray<string>): ExplainDeps {
  const trail = new AuditTrail(config.audit.path);
  return { ...planDeps(config, logger, scrubber, instances), auditRecords: () => trail.readAll() };
}

/** `sync` and `daemon` (`scheduled`): everything a run reads and writes, the run lock and the alert sinks. */
export async function runDeps(
  config: Config,
  file: ConfigFile,
  logger: Logger,
  scrubber: Scrubber,
  env: Io["env"],
  scheduled: boolean,
  narrow: { instances?: string[] | undefined; lockTimeoutMs?: number } = {},
): Promise<RunDeps> {
  const sinks = config.alerts.sinks;
  // undici's alert client is loaded only when there is somewhere to send alerts.
  const alerting = sinks.length > 0 ? await import("../alert/notifier.js") : undefined;
  const progress = scheduled ? undefined : stderrProgress();
  return {
    ...planDeps(config, logger, scrubber, narrow.instances),
    audit: { trail: new AuditTrail(config.audit.path, { key: config.audit.key }), context: auditContext(file, env, scheduled) },
    runLock: async () => {
      // Before anything is written: the audit trail's directory is checked as the state directory is, even where it is another one.
      await assertTrustedPath(stateDirOf(config), "the state directory");
      await assertTrustedPath(dirname(config.audit.path), "the audit trail's directory");
      const waitMs = narrow.lockTimeoutMs ?? RUN_LOCK_WAIT_MS;
      return acquireRunLock(config, waitMs, waitingForLock(logger, waitMs));
    },
    ...(alerting
      ? {
          notifier: alerting.createNotifier(sinks, { scrubber }),
          alertState: alertStore(stateDirOf(config), storedNames(config, scrubber, alerting.sinkLabels(sinks))),
        }
      : {}),
    ...(progress ? { progress } : {}),
  };
}

/** The daemon's restart watch, unless `watchInterval` is 0. */
export function restartWatch(config: Config, scrubber: Scrubber): { intervalMs: number; observe: () => Promise<Processes> } | undefined {
  return config.watchIntervalMs > 0 ? { intervalMs: config.watchIntervalMs, observe: () => observeProcesses(config, scrubber) } : undefined;
}

/** The config's identity is the file as validated: values derived from it (a schedule's period, counted from now) are not part of it. */
function auditContext(file: ConfigFile, env: Io["env"], scheduled: boolean): AuditContext {
  return {
    actor: currentActor(env, scheduled),
    toolVersion: packageVersion(),
    configDigest: sha256(canonicalJson(redactConfig(file))),
  };
}

/** Said at once, so a sync queued behind another one is not mistaken for a hung one. */
function waitingForLock(logger: Logger, waitMs: number): (holder: LockHolder) => void {
  return (holder) => {
    const since = holder.since === null ? "" : ` since ${new Date(holder.since).toISOString()}`;
    logger.warn(
      { lockHolder: holder, lockTimeoutMs: waitMs },
      `waiting up to ${Math.ceil(waitMs / 1000)} s (--lock-timeout) for another sync: the run lock is held by ${holderText(holder)}${since}`,
    );
  };
}

/** A daemon watch's look must not outlast the next one by much, whatever a run may wait for. */
function watchTimeoutMs(config: Config): number {
  return Math.min(config.haproxy.timeoutMs, Math.max(config.watchIntervalMs, 2000));
}

/** The daemon's watches connect to an instance for one look, within the look's short deadline. */
export function watchConnection(config: Config, scrubber: Scrubber): (target: string) => Promise<HaproxyInstance> {
  const timeoutMs = watchTimeoutMs(config);
  return (target) => HaproxyInstance.connect(target, { timeoutMs, tls: config.haproxy.tls, scrubber });
}

/** Which process answers behind each instance: one `show info` per instance, each within a short deadline of its own. */
async function observeProcesses(config: Config, scrubber: Scrubber): Promise<Processes> {
  const targets = await resolveTargets(config.haproxy, { timeoutMs: watchTimeoutMs(config) });
  const connect = watchConnection(config, scrubber);
  const processes = new Map<string, string | undefined>();
  await mapLimit(targets, config.haproxy.concurrency, async (target) => {
    try {
      const instance = await connect(target);
      processes.set(target, instance.process);
      await instance.close();
    } catch {
      processes.set(target, undefined);
    }
  });
  return processes;
}
