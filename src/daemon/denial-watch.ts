import type { Logger } from "pino";
import type { RunDenials } from "../model/denials.js";

export interface DenialWatchOptions {
  intervalMs: number;
  /** Who the tables show as turned away now, and why; undefined when it could not be judged (the sources failed). */
  look: () => Promise<RunDenials | undefined>;
  /** Every judged look, for the gauges. */
  onLook: (denials: RunDenials) => void;
  /** Told at once when a published address is being turned away. */
  onDeniedRunner: (addresses: string[]) => void;
  logger: Logger;
}

export interface DenialWatch {
  /** A look in progress ends on its own deadline and reports nothing once stopped. */
  stop(): void;
}

/** Reads the denied clients' tables every `intervalMs`, the first look at once, as the restart watch looks at the processes. */
export function startDenialWatch(options: DenialWatchOptions): DenialWatch {
  const log = options.logger;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const look = async () => {
    if (stopped) return;
    try {
      const denials = await options.look();
      if (denials && !stopped) {
        options.onLook(denials);
        if (denials.runners.length > 0) options.onDeniedRunner(denials.runners.map((d) => d.address));
      }
    } catch (err) {
      log.warn({ err }, "the denial watch could not read the denied clients' tables");
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
