import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "pino";
import { type RestartWatch, startRestartWatch } from "./restart-watch.js";
import type { Processes } from "./watch.js";

/** Why the daemon starts a run: the first one, the schedule, a new HAProxy process, or a retry while not ready. */
export type TickReason = "start" | "schedule" | "restart" | "retry";

export interface SchedulerOptions {
  schedule: string;
  /** The longest time between two runs of `schedule`: retries never wait longer. */
  periodMs: number;
  /** The first run waits a random delay up to this, so replicas do not start together. */
  jitterMs: number;
  random: () => number;
  /** While not ready, a failed run is tried again after this, doubling up to the schedule's period. */
  retryMs: number;
  /** One run; the signal asks it to stop before its first change. */
  run: (signal: AbortSignal, reason: TickReason) => Promise<void>;
  ready: () => boolean;
  /** The restart watch: a new process behind a target is told to `onRestart`, then synced at once. */
  watch?: { intervalMs: number; observe: () => Promise<Processes> };
  onRestart: (targets: string[]) => void;
  logger: Logger;
}

/** Starts runs on the schedule, on a restart and on retries; never two at once. */
export class Scheduler {
  private readonly controller = new AbortController();
  private readonly task: ScheduledTask;
  private first: NodeJS.Timeout | undefined;
  private watch: RestartWatch | undefined;
  private current: Promise<void> | undefined;
  /** A restart was seen during the current run: its instance may have loaded a stale list after the run read it. */
  private again = false;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;

  constructor(private readonly options: SchedulerOptions) {
    this.retryDelay = options.retryMs;
    this.task = cron.createTask(options.schedule, () => this.tick("schedule"), { noOverlap: true, name: "travis-allowlist-sync" });
  }

  /** The restart watch's first look is the baseline, taken before the first run, which covers anything older. */
  start(): void {
    const { watch } = this.options;
    if (watch) {
      this.watch = startRestartWatch({ ...watch, logger: this.options.logger, onRestart: (targets) => this.restartSeen(targets) });
    }
    this.first = setTimeout(
      () => {
        void this.tick("start");
        void this.task.start();
      },
      Math.floor(this.options.random() * this.options.jitterMs),
    );
  }

  async tick(reason: TickReason): Promise<void> {
    if (this.stopping) return;
    if (this.current) {
      // A new HAProxy process must not wait for the next schedule: sync again as soon as this run ends.
      if (reason === "restart") this.again = true;
      else this.options.logger.warn({ reason }, "previous run still in progress; this one is skipped");
      return;
    }
    this.current = this.runUntilCaughtUp(reason);
    await this.current;
    this.current = undefined;
    this.retryWhileNotReady();
  }

  /** Stops scheduling, aborts a run that has not started changing anything, and waits for it. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.first);
    this.watch?.stop();
    clearTimeout(this.retryTimer);
    await this.task.stop();
    await this.task.destroy();
    this.controller.abort();
    if (this.current) {
      this.options.logger.info("waiting for the current run to finish or stop before its first change");
      await this.current;
    }
  }

  private restartSeen(targets: string[]): void {
    this.options.onRestart(targets);
    void this.tick("restart");
  }

  private async runUntilCaughtUp(reason: TickReason): Promise<void> {
    await this.runOnce(reason);
    while (this.again && !this.stopping) {
      this.again = false;
      await this.runOnce("restart");
    }
  }

  private async runOnce(reason: TickReason): Promise<void> {
    try {
      await this.options.run(this.controller.signal, reason);
    } catch (err) {
      this.options.logger.error({ err }, "run crashed");
    }
    if (this.options.ready()) this.retryDelay = this.options.retryMs;
  }

  /** A pod waiting for its first current list must not wait a whole schedule period for the next try. */
  private retryWhileNotReady(): void {
    if (this.stopping || this.options.ready()) return;
    clearTimeout(this.retryTimer);
    this.options.logger.info({ retryInSeconds: this.retryDelay / 1000 }, "not ready: the sync failed; trying again soon");
    this.retryTimer = setTimeout(() => void this.tick("retry"), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, Math.max(this.options.periodMs, this.options.retryMs));
  }
}
