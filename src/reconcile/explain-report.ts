import type { ErrorSummary, SourceStatus } from "../model/result.js";

export interface ExplainHistoryItem {
  time: string;
  runId: string;
  action: "added" | "removed";
  entry: string;
  actor: string;
}

export interface ExplainInstance {
  target: string;
  /** HAProxy's own answer; null when the instance could not be asked. */
  admitted: boolean | null;
  /** The matching entry, canonical. */
  entry: string | null;
  /** Its key exactly as HAProxy holds it, when that differs. */
  key?: string;
  value: string | null;
  owner: "self" | "foreign" | null;
  /** When the matching owned entry is due to go (removal grace period). */
  pendingRemoval: string | null;
  /** An owned entry this tool never planned (drift): the next sync removes it. */
  unexpected: boolean;
  history: ExplainHistoryItem[];
  error: string | null;
  /** With `haproxy.denials`: what this instance's table counts for the address; null when it lists none (or the table was not read: `deniedError`). */
  denied?: { requests: number; lastSeen: string } | null;
  /** With `haproxy.denials`: why this instance's table was not read; else null. */
  deniedError?: ErrorSummary | null;
}

export interface ExplainProvenance {
  source: string;
  entry: string;
  name: string | null;
  resolver: string | null;
  firstSeen: string | null;
}

export interface ExplainedAddress {
  address: string;
  /** Inside the desired set; null when the sources could not be read. */
  desired: boolean | null;
  /** The `exclude` entry that keeps it out, if any. */
  excludedBy: string | null;
  provenance: ExplainProvenance[];
  instances: ExplainInstance[];
}

export interface ExplainReport {
  version: 1;
  addresses: ExplainedAddress[];
  sources: SourceStatus[];
  error: ErrorSummary | null;
  outcome: ExplainOutcome;
}

/** Whether the instances `agree` about every address, `disagree` about one, or the answer is `unknown` (an instance or the sources could not be asked). */
export const EXPLAIN_OUTCOMES = ["agree", "disagree", "unknown"] as const;
export type ExplainOutcome = (typeof EXPLAIN_OUTCOMES)[number];

export function explainOutcomeOf(addresses: ReadonlyArray<ExplainedAddress>, error: ErrorSummary | null): ExplainOutcome {
  if (error !== null || addresses.some((a) => a.instances.some((i) => i.admitted === null))) return "unknown";
  // Instances disagree when they answer differently, also when both admit but through different entries or owners.
  const answerOf = (i: ExplainInstance) => JSON.stringify([i.admitted, i.entry, i.value, i.owner]);
  return addresses.some((a) => new Set(a.instances.filter((i) => i.admitted !== null).map(answerOf)).size > 1) ? "disagree" : "agree";
}
