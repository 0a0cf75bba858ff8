import type { Logger } from "pino";

export interface Polling {
  /** No look starts after this; one in progress ends on its own deadline, and `active()` tells it to report nothing. */
  stop(): void;
}

export interface PollOptions {
  intervalMs: number;
  /** One look; `active()` is false once stopped, so a look that ends late reports nothing. */
  look: (active: () => boolean) => Promise<void>;
  /** Logged, with the error, when a look fails; the next look comes all the same. */
  failure: string;
  logger: Logger;
}

/**
 * Looks at once, then `intervalMs` after each look ends: a slow peer spaces
 * the looks out instead of piling them up.
 */
export function poll(options: PollOptions): Polling {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const active = () => !stopped;
  const look = async () => {
    try {
      await options.look(active);
    } catch (err) {
      options.logger.warn({ err }, options.failure);
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
