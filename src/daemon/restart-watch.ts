import type { Logger } from "pino";
import { poll, type Polling } from "./poll.js";
import { newProcesses, type Processes } from "./watch.js";

export interface RestartWatchOptions {
  intervalMs: number;
  /** Which process answers behind each target. */
  observe: () => Promise<Processes>;
  /** Told at once about targets whose process is new since the last look. */
  onRestart: (targets: string[]) => void;
  logger: Logger;
}

/** Looks every `intervalMs` at the process behind each target; the first look, taken at once, is the baseline. */
export function startRestartWatch(options: RestartWatchOptions): Polling {
  const log = options.logger;
  let seen: Processes | undefined;
  return poll({
    intervalMs: options.intervalMs,
    logger: log,
    failure: "the restart watch could not ask the instances",
    look: async (active) => {
      const processes = await options.observe();
      const fresh = newProcesses(seen, processes);
      seen = processes;
      if (fresh.length > 0 && active()) {
        log.info({ targets: fresh }, "a new HAProxy process (restart, reload or new instance) holds the list file's content; syncing now");
        options.onRestart(fresh);
      }
    },
  });
}
