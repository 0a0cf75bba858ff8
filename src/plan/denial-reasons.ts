import { CidrIndex } from "../model/cidr-index.js";
import { type Denial, type DeniedOn, PUBLISHED_DENIAL_REASONS, type DenialReason } from "../model/denials.js";
import { type LiveCount, joined, liveText, publishedText, removalText } from "./denial-detail.js";
import type { DenialFacts, PublishedEntry, Removal } from "./denial-facts.js";

interface Judged {
  reason: DenialReason;
  detail: string;
  runId: string | null;
}

/** The facts as lookups by address, built once per call. */
interface Lookups {
  published: CidrIndex<PublishedEntry>;
  excludedBy: CidrIndex<string>;
  heldAddition: CidrIndex<true>;
  removal: CidrIndex<Removal>;
  live: Array<CidrIndex<true> | null>;
}

function lookupsOf(facts: DenialFacts): Lookups {
  // Oldest first, so that the latest removal of an entry is the one kept.
  const removals = [...facts.removals].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return {
    published: new CidrIndex(facts.published.map((p) => [p.entry, p] as const)),
    excludedBy: new CidrIndex(facts.exclude.map((e) => [e, e] as const)),
    heldAddition: new CidrIndex((facts.held?.additions ?? []).map((a) => [a, true] as const)),
    removal: new CidrIndex(removals.map((r) => [r.entry, r] as const)),
    live: facts.live.map((i) => (i.entries === null ? null : new CidrIndex(i.entries.map((e) => [e, true] as const)))),
  };
}

function liveCount(address: string, lookups: Lookups): LiveCount {
  const read = lookups.live.filter((index) => index !== null);
  return { read: read.length, live: read.filter((index) => index.covering(address) !== undefined).length };
}

/**
 * Precedence, first match wins:
 * 1. `excluded`: an operator said no, so the denial is the allowlist working, whoever publishes it.
 * 2. `held`, then `stale`: a source publishes it now, so it is owed admission; `held` when the
 *    held run planned to add it (that run is why it is still denied), `stale` otherwise, even
 *    when this tool removed it earlier: publishing it again is what matters now.
 * 3. `removed`: no source publishes it and this tool took it out.
 * 4. `unpublished`: no source publishes it and this tool never removed it.
 */
function judge(address: string, facts: DenialFacts, lookups: Lookups): Judged {
  const live = liveText(liveCount(address, lookups));
  const published = lookups.published.covering(address);
  const excludedBy = lookups.excludedBy.covering(address);
  const removal = lookups.removal.covering(address);
  if (excludedBy !== undefined) {
    return { reason: "excluded", detail: joined(`exclude ${excludedBy} covers it`, published ? publishedText(published) : "", live), runId: null };
  }
  if (published !== undefined) {
    const held = facts.held;
    if (held !== null && lookups.heldAddition.covering(address)) {
      const run = held.runId === null ? "the next sync plans to add it and is held" : `run ${held.runId} planned to add it and was held`;
      const holding = `${run} by guard ${held.guard}: ${held.message}`;
      return { reason: "held", detail: joined(publishedText(published), holding, live), runId: held.runId };
    }
    return { reason: "stale", detail: joined(publishedText(published), live, removal ? `earlier ${removalText(removal)}` : ""), runId: null };
  }
  if (removal !== undefined) {
    return { reason: "removed", detail: joined(removalText(removal), "no source publishes it now", live), runId: removal.runId };
  }
  return { reason: "unpublished", detail: joined("no source publishes it and this tool never admitted it", live), runId: null };
}

/** Each address's per-instance counts, clients older than `sinceMs` left out. */
function byAddress(facts: DenialFacts): Map<string, DeniedOn[]> {
  const cutoff = facts.sinceMs === undefined ? -Infinity : facts.now.getTime() - facts.sinceMs;
  const grouped = new Map<string, DeniedOn[]>();
  for (const { target, clients } of facts.denied) {
    for (const client of clients) {
      if (client.lastSeenMs < cutoff) continue;
      const on = grouped.get(client.address) ?? [];
      on.push({ target, requests: client.requests, lastSeen: new Date(client.lastSeenMs).toISOString() });
      grouped.set(client.address, on);
    }
  }
  return grouped;
}

function latest(times: ReadonlyArray<string>): string {
  return times.reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));
}

/** Published addresses first (they are runners being turned away), then the most requests, then by address. */
function byUrgency(a: Denial, b: Denial): number {
  const rank = (d: Denial) => (PUBLISHED_DENIAL_REASONS.has(d.reason) ? 0 : 1);
  return rank(a) - rank(b) || b.requests - a.requests || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);
}

/** One denial per address, over every instance, with why it was denied; sorted most urgent first. */
export function classifyDenials(facts: DenialFacts): Denial[] {
  const lookups = lookupsOf(facts);
  const denials: Denial[] = [];
  for (const [address, on] of byAddress(facts)) {
    const instances = [...on].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
    const requests = instances.reduce((sum, i) => sum + i.requests, 0);
    denials.push({ address, requests, lastSeen: latest(instances.map((i) => i.lastSeen)), ...judge(address, facts, lookups), instances });
  }
  return denials.sort(byUrgency);
}

/** The `--detailed-exitcode` question: was an address a source publishes turned away? */
export function publishedDenied(denials: ReadonlyArray<Denial>): boolean {
  return denials.some((denial) => PUBLISHED_DENIAL_REASONS.has(denial.reason));
}
