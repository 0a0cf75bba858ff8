import { CidrIndex, type IndexedAddress, indexedAddress } from "../model/cidr-index.js";
import { type Denial, type DeniedOn, PUBLISHED_DENIAL_REASONS, type DenialReason } from "../model/denials.js";
import { SharedValues } from "../model/shared-values.js";
import { joined, liveText, publishedText, removalText } from "./denial-detail.js";
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
  /** The live lists that were read; an instance whose list was not is left out. */
  liveRead: Array<CidrIndex<true>>;
  liveOn: Map<string, CidrIndex<true> | null>;
  /** Per instance, the latest time (epoch ms) each entry was added there. */
  admittedOn: Map<string, CidrIndex<number>>;
  /**
   * Verdicts by what they are made of: the words of a denial depend on the entries that
   * cover it, never on the address itself, so a hundred thousand clients share a few.
   */
  verdicts: SharedValues<Judged>;
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
    liveRead: live.filter((index) => index !== null),
    liveOn: new Map(facts.live.map((i, n) => [i.target, live[n] ?? null])),
    admittedOn: admissionsByTarget(facts),
    verdicts: new SharedValues(),
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
function admittedSince(target: string, address: IndexedAddress | string, lastSeenMs: number, facts: DenialFacts, lookups: Lookups): boolean {
  if (lookups.liveOn.get(target)?.covering(address) === undefined) return false;
  const admittedAt = lookups.admittedOn.get(target)?.covering(address);
  return lastSeenMs <= (admittedAt ?? facts.now.getTime());
}

function liveOnCount(address: IndexedAddress | string, lookups: Lookups): number {
  let live = 0;
  for (const index of lookups.liveRead) if (index.covering(address) !== undefined) live++;
  return live;
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
function judge(address: IndexedAddress | string, facts: DenialFacts, lookups: Lookups, admitted: boolean): Judged {
  const excludedBy = lookups.excludedBy.covering(address);
  const published = lookups.published.covering(address);
  const removal = lookups.removal.covering(address);
  const held = published !== undefined && facts.held !== null && lookups.heldAddition.covering(address) !== undefined;
  const live = liveOnCount(address, lookups);
  return lookups.verdicts.get([excludedBy, published, removal, held, live, admitted], () => {
    const judged = verdict({ excludedBy, published, removal, held, live: liveText({ live, read: lookups.liveRead.length }) }, facts);
    return admitted ? { ...judged, detail: joined(judged.detail, "admitted since on every instance that denied it: these denials came before") } : judged;
  });
}

/** The entries that cover one address, and where it is live, in words. */
interface Covering {
  excludedBy: string | undefined;
  published: PublishedEntry | undefined;
  removal: Removal | undefined;
  /** A source publishes it and the held run planned to add it. */
  held: boolean;
  live: string;
}

function verdict({ excludedBy, published, removal, held, live }: Covering, facts: DenialFacts): Judged {
  if (excludedBy !== undefined) {
    return { reason: "excluded", detail: joined(`exclude ${excludedBy} covers it`, published ? publishedText(published) : "", live), runId: null };
  }
  if (published !== undefined) {
    if (held && facts.held !== null) {
      const run = facts.held.runId === null ? "the next sync plans to add it and is held" : `run ${facts.held.runId} planned to add it and was held`;
      const holding = `${run} by guard ${facts.held.guard}: ${facts.held.message}`;
      return { reason: "held", detail: joined(publishedText(published), holding, live), runId: facts.held.runId };
    }
    return { reason: "stale", detail: joined(publishedText(published), live, removal ? `earlier ${removalText(removal)}` : ""), runId: null };
  }
  if (removal !== undefined) {
    return { reason: "removed", detail: joined(removalText(removal), "no source publishes it now", live), runId: removal.runId };
  }
  return { reason: "unpublished", detail: joined("no source publishes it and this tool never admitted it", live), runId: null };
}

/** One address's part of each instance's table, parsed once for every lookup. */
interface Grouped {
  /** The address itself when it parses as none, so that no entry covers it and it is still reported. */
  parsed: IndexedAddress | string;
  on: DeniedOn[];
  lastSeenMs: number;
}

/** `toISOString` of epoch ms, the same text shared by the runs of clients last seen in the same millisecond, as a table read at once lists them. */
function isoTimes(): (ms: number) => string {
  let lastMs = Number.NaN;
  let lastText = "";
  return (ms) => {
    if (ms !== lastMs) {
      lastMs = ms;
      lastText = new Date(ms).toISOString();
    }
    return lastText;
  };
}

/** Each address's per-instance counts, clients older than `sinceMs` left out. */
function byAddress(facts: DenialFacts, lookups: Lookups, iso: (ms: number) => string): Map<string, Grouped> {
  const cutoff = facts.sinceMs === undefined ? -Infinity : facts.now.getTime() - facts.sinceMs;
  const grouped = new Map<string, Grouped>();
  for (const { target, clients } of facts.denied) {
    for (const client of clients) {
      if (client.lastSeenMs < cutoff) continue;
      let group = grouped.get(client.address);
      if (group === undefined) {
        group = { parsed: indexedAddress(client.address) ?? client.address, on: [], lastSeenMs: client.lastSeenMs };
        grouped.set(client.address, group);
      }
      const admitted = admittedSince(target, group.parsed, client.lastSeenMs, facts, lookups);
      group.on.push({ target, requests: client.requests, lastSeen: iso(client.lastSeenMs), admitted });
      group.lastSeenMs = Math.max(group.lastSeenMs, client.lastSeenMs);
    }
  }
  return grouped;
}

function byAddressText(a: Denial, b: Denial): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

/** The most requests first, then by address. */
function byRequests(a: Denial, b: Denial): number {
  return b.requests - a.requests || byAddressText(a, b);
}

function byTarget(a: DeniedOn, b: DeniedOn): number {
  return a.target < b.target ? -1 : a.target > b.target ? 1 : 0;
}

/** One denial per address, over every instance, with why it was denied; sorted most urgent first: published addresses (runners being turned away), then the most requests, then by address. */
export function classifyDenials(facts: DenialFacts): Denial[] {
  const lookups = lookupsOf(facts);
  const iso = isoTimes();
  const published: Denial[] = [];
  const others: Denial[] = [];
  for (const [address, { parsed, on, lastSeenMs }] of byAddress(facts, lookups, iso)) {
    const instances = on.length === 1 ? on : on.sort(byTarget);
    let requests = 0;
    let current = false;
    for (const i of instances) {
      requests += i.requests;
      current ||= !i.admitted;
    }
    const judged = judge(parsed, facts, lookups, !current);
    const denial: Denial = { address, requests, lastSeen: iso(lastSeenMs), ...judged, instances, current };
    (PUBLISHED_DENIAL_REASONS.has(judged.reason) ? published : others).push(denial);
  }
  return [...published.sort(byRequests), ...others.sort(byRequests)];
}

/** A published address that some instance still turns away: what the alert, the daemon and `--detailed-exitcode` act on. */
export function isDeniedRunner(denial: Denial): boolean {
  return denial.current && PUBLISHED_DENIAL_REASONS.has(denial.reason);
}

/** The `--detailed-exitcode` question: is an address a source publishes being turned away? */
export function publishedDenied(denials: ReadonlyArray<Denial>): boolean {
  return denials.some(isDeniedRunner);
}
