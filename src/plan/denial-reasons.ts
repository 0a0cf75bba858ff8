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
  liveOn: Map<string, CidrIndex<true> | null>;
  /** Per instance, the latest time (epoch ms) each entry was added there. */
  admittedOn: Map<string, CidrIndex<number>>;
}

function lookupsOf(facts: DenialFacts): Lookups {
  // Oldest first, so that the latest removal of an entry is the one kept.
  const removals = [...facts.removals].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const live = facts.live.map((i) => (i.entries === null ? null : new CidrIndex(i.entries.map((e) => [e, true] as const))));
  return {
    published: new CidrIndex(facts.published.map((p) => [p.entry, p] as const)),
    excludedBy: new CidrIndex(facts.exclude.map((e) => [e, e] as const)),
    heldAddition: new CidrIndex((facts.held?.additions ?? []).map((a) => [a, true] as const)),
    removal: new CidrIndex(removals.map((r) => [r.entry, r] as const)),
    live,
    liveOn: new Map(facts.live.map((i, n) => [i.target, live[n] ?? null])),
    admittedOn: admissionsByTarget(facts),
  };
}

function admissionsByTarget(facts: DenialFacts): Map<string, CidrIndex<number>> {
  const latest = new Map<string, Map<string, number>>();
  for (const { target, entry, at } of facts.admissions) {
    const times = latest.get(target) ?? new Map<string, number>();
    times.set(entry, Math.max(times.get(entry) ?? -Infinity, Date.parse(at)));
    latest.set(target, times);
  }
  return new Map([...latest].map(([target, times]) => [target, new CidrIndex([...times])]));
}

/**
 * A denial is history once its address was admitted on that instance: HAProxy
 * keeps the entry until it expires (a day by default), long after the sync that
 * admitted the runner. It is history when the address is live there now and was
 * last denied no later than its admission there (the audit trail's, or this
 * run's own apply); with no admission known, no later than this run's start
 * (`now`), since the live list read after it admits the address.
 */
function admittedSince(target: string, address: string, lastSeenMs: number, facts: DenialFacts, lookups: Lookups): boolean {
  if (lookups.liveOn.get(target)?.covering(address) === undefined) return false;
  const admittedAt = lookups.admittedOn.get(target)?.covering(address);
  return lastSeenMs <= (admittedAt ?? facts.now.getTime());
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
function judge(address: string, facts: DenialFacts, lookups: Lookups, admitted: boolean): Judged {
  const judged = judgeReason(address, facts, lookups);
  return admitted ? { ...judged, detail: joined(judged.detail, "admitted since on every instance that denied it: these denials came before") } : judged;
}

function judgeReason(address: string, facts: DenialFacts, lookups: Lookups): Judged {
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
function byAddress(facts: DenialFacts, lookups: Lookups): Map<string, DeniedOn[]> {
  const cutoff = facts.sinceMs === undefined ? -Infinity : facts.now.getTime() - facts.sinceMs;
  const grouped = new Map<string, DeniedOn[]>();
  for (const { target, clients } of facts.denied) {
    for (const client of clients) {
      if (client.lastSeenMs < cutoff) continue;
      const on = grouped.get(client.address) ?? [];
      const admitted = admittedSince(target, client.address, client.lastSeenMs, facts, lookups);
      on.push({ target, requests: client.requests, lastSeen: new Date(client.lastSeenMs).toISOString(), admitted });
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
  for (const [address, on] of byAddress(facts, lookups)) {
    const instances = [...on].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
    const requests = instances.reduce((sum, i) => sum + i.requests, 0);
    const current = instances.some((i) => !i.admitted);
    denials.push({ address, requests, lastSeen: latest(instances.map((i) => i.lastSeen)), ...judge(address, facts, lookups, !current), instances, current });
  }
  return denials.sort(byUrgency);
}

/** A published address that some instance still turns away: what the alert, the daemon and `--detailed-exitcode` act on. */
export function isDeniedRunner(denial: Denial): boolean {
  return denial.current && PUBLISHED_DENIAL_REASONS.has(denial.reason);
}

/** The `--detailed-exitcode` question: is an address a source publishes being turned away? */
export function publishedDenied(denials: ReadonlyArray<Denial>): boolean {
  return denials.some(isDeniedRunner);
}
