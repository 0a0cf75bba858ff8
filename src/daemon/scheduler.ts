import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "pino";
import type { RunDenials } from "../model/denials.js";
import type { DenialLook } from "../model/denials.js";
import { startDenialWatch } from "./denial-watch.js";
import type { Polling } from "./poll.js";
import { startRestartWatch } from "./restart-watch.js";
import type { Processes } from "./watch.js";

/** Why the daemon starts a run: the first one, the schedule, a new HAProxy process, a published runner denied, or a retry while not ready. */
export type TickReason = "start" | "schedule" | "restart" | "denial" | "retry";

/** However often a runner is denied, a sync it starts follows the last one it started by at least this long. */
export const DENIAL_SYNC_GAP_MS = 60_000;

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
  /**
   * The denial watch: a published runner denied, or a client the last run did not see, starts a
   * sync at once, at most one every DENIAL_SYNC_GAP_MS; every look goes to `onDenials`.
   */
  denialWatch?: { intervalMs: number; look: () => Promise<DenialLook | undefined> };
  onDenials?: (denials: RunDenials) => void;
  /** The clock the gap between denial syncs is measured on (default: the system's). */
  now?: () => Date;
  logger: Logger;
}

/** Starts runs on the schedule, on a restart and on retries; never two at once. */
export class Scheduler {
  private readonly controller = new AbortController();
  private readonly task: ScheduledTask;
  private first: NodeJS.Timeout | undefined;
  private watch: Polling | undefined;
  private denialWatch: Polling | undefined;
  /** When the last sync a denial started began (epoch ms). */
  private lastDenialSync = -Infinity;
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
    const { denialWatch } = this.options;
    if (denialWatch) {
      this.denialWatch = startDenialWatch({
        ...denialWatch,
        logger: this.options.logger,
        onLook: (denials) => this.options.onDenials?.(denials),
        onDenied: (look) => this.deniedSeen(look),
      });
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
    this.denialWatch?.stop();
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

  /**
   * A runner turned away is synced at once, unless a run is under way (the
   * next look sees it again if that run did not admit it) or a denial started
   * one less than a minute ago: a runner a guard holds, or that an instance
   * keeps refusing, must not turn the daemon into a sync loop. A client the
   * last run did not see may be a runner published since: only a sync can
   * tell, so it starts one on the same terms.
   */
  private deniedSeen({ denials, newcomers }: DenialLook): void {
    const log = this.options.logger;
    const runners = denials.runners.map((d) => d.address);
    const seen = runners.length > 0 ? { addresses: runners } : { newcomers: newcomers.slice(0, 10), newcomerCount: newcomers.length };
    const what =
      runners.length > 0 ? "a published runner is being denied" : "a client the last sync did not see is being denied, perhaps a runner published since";
    if (this.current || this.stopping) return log.debug(seen, `${what}; a run is under way`);
    const at = (this.options.now?.() ?? new Date()).getTime();
    if (at - this.lastDenialSync < DENIAL_SYNC_GAP_MS)
      return log.debug({ ...seen, lastDenialSync: new Date(this.lastDenialSync).toISOString() }, `${what}; a denial started a sync less than a minute ago`);
    this.lastDenialSync = at;
    log.info(seen, `${what}; syncing now`);
    void this.tick("denial");
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
