import type { Logger } from "pino";
import { newProcesses, type Processes } from "./watch.js";

export interface RestartWatchOptions {
  intervalMs: number;
  /** Which process answers behind each target. */
  observe: () => Promise<Processes>;
  /** Told at once about targets whose process is new since the last look. */
  onRestart: (targets: string[]) => void;
  logger: Logger;
}

export interface RestartWatch {
  /** A look in progress ends on its own deadline and reports nothing once stopped. */
  stop(): void;
}

/** Looks every `intervalMs` at the process behind each target; the first look, taken at once, is the baseline. */
export function startRestartWatch(options: RestartWatchOptions): RestartWatch {
  const log = options.logger;
  let seen: Processes | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const look = async () => {
    if (stopped) return;
    try {
      const processes = await options.observe();
      const fresh = newProcesses(seen, processes);
      seen = processes;
      if (fresh.length > 0 && !stopped) {
        log.info({ targets: fresh }, "a new HAProxy process (restart, reload or new instance) holds the list file's content; syncing now");
        options.onRestart(fresh);
      }
    } catch (err) {
      log.warn({ err }, "the restart watch could not ask the instances");
    }
    if (!stopped) timer = setTimeout(() => void look(), options.intervalMs);
  };
  void look();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
