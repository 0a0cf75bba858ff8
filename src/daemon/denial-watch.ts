import type { Logger } from "pino";
import type { DenialLook, RunDenials } from "../model/denials.js";
import { poll, type Polling } from "./poll.js";

export interface DenialWatchOptions {
  intervalMs: number;
  /** The tables now, judged; undefined when there is nothing to judge them against yet (no run has completed). */
  look: () => Promise<DenialLook | undefined>;
  /** Every judged look, for the gauges. */
  onLook: (denials: RunDenials) => void;
  /** Told at once when a published runner, or a client the last run did not see, is being turned away. */
  onDenied: (look: DenialLook) => void;
  logger: Logger;
}

/** Reads the denied clients' tables every `intervalMs`, the first look at once. */
export function startDenialWatch(options: DenialWatchOptions): Polling {
  return poll({
    intervalMs: options.intervalMs,
    logger: options.logger,
    failure: "the denial watch could not read the denied clients' tables",
    look: async (active) => {
      const look = await options.look();
      if (!look || !active()) return;
      options.onLook(look.denials);
      if (look.denials.runners.length > 0 || look.newcomers.length > 0) options.onDenied(look);
    },
  });
}
