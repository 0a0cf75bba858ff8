import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import type { DesiredSet } from "../model/desired.js";
import type { LiveEntry } from "../model/list.js";
import type { GraceDecision } from "../plan/grace.js";
import type { LoadedAbsenceState } from "../state/absence-store.js";
import { graceFor } from "./grace.js";

/**
 * The grace period, decided once for every instance of the map from the
 * removal state as loaded, and said in the log; with the notice a lost
 * removal state is worth in the result.
 */
export function decideRemovalGrace(
  config: Config,
  desired: DesiredSet,
  lives: ReadonlyArray<ReadonlyArray<LiveEntry>>,
  loaded: LoadedAbsenceState,
  options: { noGrace: boolean; now: Date; partial: boolean },
  log: Logger,
): { grace: GraceDecision; stateNotice: string | null } {
  const grace = graceFor(config, desired, lives, loaded.state, { ...options, stateKnown: loaded.notice === null });
  const stateNotice = loaded.notice === null ? null : lostStateNotice(loaded.notice, grace.pending.size);
  // Said once, in the result; the log keeps it for log stores.
  if (stateNotice) log.info({ stateNotice }, stateNotice);
  else if (loaded.notice) log.debug({ stateNotice: loaded.notice }, `${loaded.notice}: no entry absent upstream depends on it this run`);
  if (options.noGrace) log.warn({ noGrace: true }, "--no-grace: absent entries are removed without the grace period");
  for (const [entry, removeAt] of grace.pending) log.info({ entry, removeAt }, `${entry} is absent from the sources; kept until ${removeAt}`);
  if (grace.unexpected.size > 0)
    log.warn({ unexpected: [...grace.unexpected].slice(0, 20) }, `${grace.unexpected.size} owned entries were never planned by this tool (drift)`);
  return { grace, stateNotice };
}

/**
 * Without the removal state an entry nobody published looks like one the
 * sources stopped publishing, so it keeps the grace period: worth saying only
 * when that kept an entry.
 */
function lostStateNotice(cause: string, kept: number): string | null {
  if (kept === 0) return null;
  const entries =
    kept === 1
      ? "1 owned entry absent upstream keeps the grace period: without a record it"
      : `${kept} owned entries absent upstream keep the grace period: without a record they`;
  return `${cause}: ${entries} cannot be told from entries nobody published`;
}
