/** What the daemon has seen so far, in milliseconds since the epoch: all that /healthz and /readyz are judged on. */
export interface RunHistory {
  startedAt: number;
  /** How many times a new HAProxy process was seen, and the last time. */
  restarts: { count: number; last?: { at: number; targets: readonly string[] } };
  /** The last successful run: when it ended, and how many restarts had been seen when it began. */
  lastSuccess?: { at: number; restartsBefore: number };
}

export interface Verdict {
  ok: boolean;
  reason: string;
}

export function newHistory(startedAt: number): RunHistory {
  return { startedAt, restarts: { count: 0 } };
}

export function recordRestart(history: RunHistory, targets: readonly string[], at: number): RunHistory {
  return { ...history, restarts: { count: history.restarts.count + 1, last: { at, targets } } };
}

/** A run that began when `restartsBefore` restarts had been seen ended at `at`; only a success changes what the probes say. */
export function recordRun(history: RunHistory, run: { succeeded: boolean; restartsBefore: number; at: number }): RunHistory {
  return run.succeeded ? { ...history, lastSuccess: { at: run.at, restartsBefore: run.restartsBefore } } : history;
}

/** Healthy while the last success (or, before any, the start) is less than three schedule periods old. */
export function health(history: RunHistory, periodMs: number, now: number): Verdict {
  const limit = 3 * periodMs;
  const success = history.lastSuccess?.at;
  const age = now - (success ?? history.startedAt);
  const ok = age < limit;
  if (success === undefined) return { ok, reason: ok ? "starting: no run has succeeded yet" : `no successful run in ${seconds(age)} s` };
  return { ok, reason: `last success ${seconds(age)} s ago (limit ${seconds(limit)} s)` };
}

/**
 * Ready once a run that began after the last new HAProxy process was seen has
 * succeeded: a new process loaded the list file, so only then does every
 * instance hold the current list.
 */
export function readiness(history: RunHistory): Verdict {
  const { restarts, lastSuccess } = history;
  if (restarts.last && (lastSuccess?.restartsBefore ?? -1) < restarts.count)
    return { ok: false, reason: `new HAProxy process behind ${restarts.last.targets.join(", ")} at ${iso(restarts.last.at)}, not yet synced` };
  if (!lastSuccess) return { ok: false, reason: "no successful sync yet" };
  return { ok: true, reason: `synced at ${iso(lastSuccess.at)}` };
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
