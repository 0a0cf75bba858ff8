import { HaproxyError } from "../errors.js";

/**
 * Live entries one run holds in memory at once, all instances together: about
 * 85 bytes each once read, so a million stay well inside the CronJob's 256 MiB
 * beside the process itself.
 */
export const RUN_LIVE_ENTRIES = 500_000;

/** Counts the entries of one list as they are read; throws E_HAPROXY_LIVE_TOO_LONG past a limit. */
export interface EntryAllowance {
  take(count: number): void;
  /** The entries counted go back: the list was not kept. */
  release(): void;
}

/**
 * What one run's reads may hold. Each concurrent read has a small share of its
 * own (a quarter of the budget, split between `haproxy.concurrency` reads), so
 * a short list is never refused because of others; past it, a read draws on a
 * pool shared by all. A list that fails gives its entries back; a list read in
 * full keeps them, since the run keeps it until its end. So floods on every
 * instance at once fail each on its own, and together never hold more than the
 * budget, without reading the instances one after another.
 */
export class LiveEntryBudget {
  private drawn = 0;
  private readonly own: number;
  private readonly pool: number;

  constructor(
    readonly maxLiveEntries: number,
    concurrency: number,
    forRun = RUN_LIVE_ENTRIES,
  ) {
    this.own = Math.floor(forRun / 4 / concurrency);
    // A maxLiveEntries raised past the budget is the operator's choice of memory: one such list still fits.
    this.pool = Math.max(forRun - this.own * concurrency, maxLiveEntries - this.own);
  }

  forList(): EntryAllowance {
    let count = 0;
    let fromPool = 0;
    return {
      take: (n) => {
        count += n;
        if (count > this.maxLiveEntries) throw tooLong(`the live list has more than ${this.maxLiveEntries} entries (limits.maxLiveEntries)`);
        const wanted = Math.max(0, count - this.own) - fromPool;
        if (wanted <= 0) return;
        if (this.drawn + wanted > this.pool)
          throw tooLong(
            `the live list reached ${count} entries while the other instances' lists already fill the run's memory budget (${this.pool + this.own} entries at once); the next run reads it again`,
          );
        this.drawn += wanted;
        fromPool += wanted;
      },
      release: () => {
        this.drawn -= fromPool;
        fromPool = 0;
        count = 0;
      },
    };
  }
}

/** An allowance with only the per-instance limit, for lists read outside a run's budget (a staged version read back). */
export function listLimit(maxLiveEntries: number): EntryAllowance {
  return new LiveEntryBudget(maxLiveEntries, 1, maxLiveEntries).forList();
}

function tooLong(message: string): HaproxyError {
  return new HaproxyError("E_HAPROXY_LIVE_TOO_LONG", undefined, `${message}; the rest was not read`);
}
