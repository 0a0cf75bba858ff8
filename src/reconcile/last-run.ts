import { MAX_DENIED_CLIENTS } from "../haproxy/table-read.js";
import type { Denial, DenialReason } from "../model/denials.js";
import type { DenialFacts } from "../plan/denial-facts.js";

/** What a run knew of the world, as the denial classifier takes it, without the tables. */
export type KnownFacts = Omit<DenialFacts, "now" | "denied" | "sinceMs">;

/**
 * What the daemon keeps of its last run to judge the denied clients' tables
 * between runs without asking the sources or reading a live list again: the
 * run's desired set with provenance, each instance's list as the run left it,
 * the held plan, the removals, and which unpublished clients its tables
 * already listed. Bounded by the run itself: its desired set, its lists and
 * the clients one run keeps (MAX_DENIED_CLIENTS).
 */
export interface LastRun {
  /** When the run had left each list as `known.live` says: a later denial of an address live there means the list changed since. */
  at: Date;
  known: KnownFacts;
  /** The targets the run read or tried to read: the ones a look reads the tables of. */
  targets: ReadonlyArray<string>;
  /** Denied addresses the run's tables listed that no source published then, denied before the run began: a look does not take them for newcomers. */
  seen: ReadonlySet<string>;
  /** Every denied address the run's tables listed that no source published then. */
  unpublished: ReadonlySet<string>;
}

/** Reasons a source's newer answer could change: the address was not published when the run asked. */
const UNPUBLISHED_REASONS: ReadonlySet<DenialReason> = new Set<DenialReason>(["removed", "unpublished"]);

/** The denials no source published when their run asked. */
export function unpublishedDenials(denials: ReadonlyArray<Denial>): Denial[] {
  return denials.filter((d) => UNPUBLISHED_REASONS.has(d.reason));
}

/**
 * What the daemon remembers between runs. An unpublished client the last
 * run's tables listed is taken as seen (a look does not sync for it again)
 * only when it had been denied before that run asked its sources: its last
 * request came before the run began, or a look or an earlier run had seen
 * it. A client denied first while the run was going, after its sources were
 * asked, is still a newcomer at the next look: a source may have published
 * it in between, which only a sync can tell.
 */
export class RunMemory {
  private last: LastRun | undefined;
  /** Newcomers the looks since the last run saw denied. */
  private readonly deniedSince = new Set<string>();

  /** What the last run knew; undefined until a run has read the tables. */
  get lastRun(): LastRun | undefined {
    return this.last;
  }

  keep(run: LastRun): void {
    const seenBefore = (address: string) => run.seen.has(address) || this.deniedSince.has(address) || (this.last?.seen.has(address) ?? false);
    this.last = { ...run, seen: new Set([...run.unpublished].filter(seenBefore)) };
    this.deniedSince.clear();
  }

  /** Bounded as one run's clients are: while runs fail, looks must not pile up every client they see. */
  looked(newcomers: ReadonlyArray<string>): void {
    for (const address of newcomers) {
      if (this.deniedSince.size >= MAX_DENIED_CLIENTS) return;
      this.deniedSince.add(address);
    }
  }
}
