import { getHeapStatistics } from "node:v8";
import { HaproxyError } from "../errors.js";

const MIB = 1024 * 1024;

/**
 * Heap one live entry costs a run from its read to its verification: the list
 * read, planned, written back whole in one transaction and read back. Measured
 * with the image's NODE_OPTIONS against HAProxy 2.6 at about 500 bytes (peak
 * heap 62 MiB at 100,000 entries, 129 MiB at 250,000, out of heap at 300,000),
 * with a margin that also keeps the memory Node holds outside its heap within
 * the container (docs/kubernetes.md, Memory).
 */
export const HEAP_BYTES_PER_LIVE_ENTRY = 640;

/** The heap the process needs whatever the lists hold: Node itself, the config, the desired set, the audit trail. */
export const HEAP_RESERVE_BYTES = 32 * MIB;

/** How many live entries one run may hold, all instances together, and the heap that sets it. */
export interface RunLiveEntries {
  entries: number;
  heapLimitBytes: number;
}

/**
 * What a heap of `heapLimitBytes` (V8's limit, set by --max-old-space-size in
 * the image) leaves room for. With Node's default heap of several GB this is
 * millions of entries; with the image's 166 MiB, about 219,000.
 */
export function runLiveEntries(heapLimitBytes: number = getHeapStatistics().heap_size_limit): RunLiveEntries {
  const entries = Math.max(0, Math.floor((heapLimitBytes - HEAP_RESERVE_BYTES) / HEAP_BYTES_PER_LIVE_ENTRY));
  return { entries, heapLimitBytes };
}

/** Counts the entries of one list as they are read; throws E_HAPROXY_LIVE_TOO_LONG past a limit. */
export interface EntryAllowance {
  take(count: number): void;
  /** The entries counted go back: the list was not kept. */
  release(): void;
}

/**
 * What one run's reads may hold. Each concurrent read has a small share of its
 * own (a sixteenth of the budget, split between `haproxy.concurrency` reads),
 * so a short list is never refused because of others; past it, a read draws on
 * a pool shared by all. A list that fails gives its entries back; a list read
 * in full keeps them, since the run keeps it until its end. So floods on every
 * instance at once fail each on its own, and together never hold more than the
 * budget, without reading the instances one after another. No list holds more
 * than the budget, whatever limits.maxLiveEntries allows: the heap is the limit.
 */
export class LiveEntryBudget {
  private drawn = 0;
  private readonly own: number;
  private readonly pool: number;

  constructor(
    readonly maxLiveEntries: number,
    concurrency: number,
    private readonly forRun: RunLiveEntries,
  ) {
    this.own = Math.floor(forRun.entries / 16 / concurrency);
    this.pool = forRun.entries - this.own * concurrency;
  }

  forList(): EntryAllowance {
    let count = 0;
    let fromPool = 0;
    return {
      take: (n) => {
        count += n;
        if (count > this.maxLiveEntries) throw pastInstanceLimit(this.maxLiveEntries);
        const wanted = Math.max(0, count - this.own) - fromPool;
        if (wanted <= 0) return;
        if (fromPool + wanted > this.pool)
          throw tooLong(
            `the live list has more than ${this.own + this.pool} entries, the most one list may hold of the run's memory budget (${this.described()}); ` +
              `a larger memory limit with a matching --max-old-space-size raises it (docs/kubernetes.md, Memory)`,
          );
        if (this.drawn + wanted > this.pool)
          throw tooLong(
            `the live list reached ${count} entries while the other instances' lists already fill the run's memory budget (${this.described()}); the next run reads it again`,
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

  private described(): string {
    return `${this.forRun.entries} live entries for all instances together, from a ${Math.round(this.forRun.heapLimitBytes / MIB)} MiB heap`;
  }
}

/** An allowance with only the per-instance limit, for lists read outside a run's budget (a staged version read back). */
export function listLimit(maxLiveEntries: number): EntryAllowance {
  let count = 0;
  return {
    take: (n) => {
      count += n;
      if (count > maxLiveEntries) throw pastInstanceLimit(maxLiveEntries);
    },
    release: () => {
      count = 0;
    },
  };
}

function pastInstanceLimit(maxLiveEntries: number): HaproxyError {
  return tooLong(`the live list has more than ${maxLiveEntries} entries (limits.maxLiveEntries)`);
}

function tooLong(message: string): HaproxyError {
  return new HaproxyError("E_HAPROXY_LIVE_TOO_LONG", undefined, `${message}; the rest was not read`);
}
