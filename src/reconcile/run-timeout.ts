import { leftAs } from "../model/left-state.js";
import type { Logger } from "pino";
import { formatDuration } from "../config/duration.js";
import type { Config } from "../config/schema.js";
import { AllowlistError } from "../errors.js";
import { type Reconciled, stopped } from "./reconciled.js";
import { failedResult } from "./results.js";

/** How a run may be stopped early: a shutdown's signal, heeded while the run is still only reading. */
export interface RunStop {
  signal: AbortSignal | undefined;
  abandonable: () => boolean;
}

/** The error of a run stopped (shutdown) before its first change. */
export function stoppedBeforeChange(): AllowlistError {
  return new AllowlistError("E_ABORTED", "the run was stopped (shutdown) before any change");
}

/**
 * The end of `runTimeout` kept for reporting a run (alerts, metrics push):
 * a run that times out must still be able to say so, and still end in time.
 */
export function reportingReserveMs(runTimeoutMs: number): number {
  return Math.min(10_000, Math.floor(runTimeoutMs / 5));
}

/**
 * Every run ends by `runTimeout`. The work left behind is bounded by its own
 * deadlines and each instance's change is one atomic commit, so an instance
 * holds its old or its complete new set; the next run finds the unfinished
 * intent in the trail and says so.
 *
 * A stop (shutdown) ends the run at once while it is still only reading: the
 * reads left behind see the stop before they could change anything. Once
 * changes have begun, the run is waited for, within `runTimeout`.
 */
export async function withinRunTimeout(work: Promise<Reconciled>, config: Config, log: Logger, stop: RunStop): Promise<Reconciled> {
  const early = stoppedEarly(config, log, stop);
  const late = timedOut(config, log, config.runTimeoutMs - reportingReserveMs(config.runTimeoutMs));
  // The abandoned work still finishes or fails on its own deadlines; nothing may await it, nothing may throw from it.
  // Work that fails before it is abandoned (bad usage found while reading) throws to the caller instead.
  let abandoned = false;
  work.catch((err: unknown) => {
    if (abandoned) log.error({ err }, "the abandoned run ended with an error");
  });
  try {
    return await Promise.race([work, late.reconciled, early.reconciled]);
  } finally {
    abandoned = true;
    late.cancel();
    early.cancel();
  }
}

/** Settles when it wins the race; `cancel` leaves nothing behind once the run is over. */
interface Ending {
  reconciled: Promise<Reconciled>;
  cancel: () => void;
}

function stoppedEarly(config: Config, log: Logger, stop: RunStop): Ending {
  let onAbort: (() => void) | undefined;
  const reconciled = new Promise<Reconciled>((resolve) => {
    onAbort = () => {
      if (!stop.abandonable()) return;
      const error = stoppedBeforeChange();
      log.warn("stopping: the run is abandoned before its first change");
      resolve(
        stopped(
          { code: error.code, message: error.message },
          config.haproxy.sockets.map((target) => failedResult(target, error, leftAs("unchanged", "unchanged (stopped before any change)"))),
        ),
      );
    };
    if (stop.signal?.aborted) onAbort();
    else stop.signal?.addEventListener("abort", onAbort, { once: true });
  });
  return {
    reconciled,
    cancel: () => {
      if (onAbort) stop.signal?.removeEventListener("abort", onAbort);
    },
  };
}

function timedOut(config: Config, log: Logger, timeoutMs: number): Ending {
  let timer: NodeJS.Timeout | undefined;
  const reconciled = new Promise<Reconciled>((resolve) => {
    timer = setTimeout(() => {
      const error = new AllowlistError(
        "E_RUN_TIMEOUT",
        `the run did not finish within runTimeout (${formatDuration(config.runTimeoutMs)}); each instance holds its old or its complete new set`,
      );
      log.error({ err: error }, "run timed out");
      resolve(
        stopped(
          { code: error.code, message: error.message },
          config.haproxy.sockets.map((target) =>
            failedResult(target, error, leftAs("unknown", "unknown: old or complete new set (each change is atomic); run status")),
          ),
        ),
      );
    }, timeoutMs);
  });
  return { reconciled, cancel: () => clearTimeout(timer) };
}
