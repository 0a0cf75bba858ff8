import type { Provenance } from "../model/provenance.js";
import type { PublishedEntry, Removal } from "./denial-facts.js";

/** Where the address is live: counted over the instances whose list was read. */
export interface LiveCount {
  live: number;
  read: number;
}

function sourceText(provenance: Provenance): string {
  const where = provenance.hostname ?? provenance.url;
  return where === undefined ? provenance.source : `${provenance.source} (${where})`;
}

/** `published by travis-dns (nat.travisci.net) since …` */
export function publishedText(published: PublishedEntry): string {
  const sources = [...new Set(published.provenance.map(sourceText))].join(", ");
  const since = published.since === null ? "" : ` since ${published.since}`;
  return `published by ${sources === "" ? "the desired set" : sources}${since}`;
}

export function removalText(removal: Removal): string {
  const run = removal.runId === null ? "" : ` in run ${removal.runId}`;
  return `removed by this tool at ${removal.at}${run}: ${removal.why}`;
}

/** `not live on 2 of 3 instances`; empty when no list was read. */
export function liveText(count: LiveCount): string {
  if (count.read === 0) return "";
  if (count.live === count.read) return count.read === 1 ? "live on the 1 instance read now" : `live on all ${count.read} instances now`;
  if (count.live === 0) return `not live on any of ${count.read} instances`;
  return `not live on ${count.read - count.live} of ${count.read} instances`;
}

export function joined(...parts: string[]): string {
  return parts.filter((part) => part !== "").join("; ");
}
