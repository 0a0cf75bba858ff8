import type { LeftState } from "./left-state.js";
import type { ErrorCode } from "../errors.js";
import type { AlertEventName, AlertPhase } from "./alerts.js";
import type { RunDenials } from "./denials.js";
import type { GuardName } from "./guards.js";
import type { Disagreement } from "./provenance.js";
import type { SourceType } from "./sources.js";

/** A failure as results report it: its code and the error's message. */
export interface ErrorSummary {
  code: ErrorCode;
  message: string;
}

export type InstanceStatus = "planned" | "applied" | "in-sync" | "held" | "failed";

export interface PendingRemoval {
  entry: string;
  removeAt: string;
}

/** `excluded` or `removed`: an address that should be denied is admitted; `too-broad`: an entry admits more than the prefix guards allow. */
export const EXPOSURE_REASONS = ["excluded", "removed", "too-broad"] as const;
export type ExposureReason = (typeof EXPOSURE_REASONS)[number];

/** The desired set's size and digest; the digest is null while the desired set is unknown. */
export interface DesiredSummary {
  count: number;
  digest: string | null;
}

/** An address that should be denied and is admitted, or an entry that admits more than the prefix guards allow. */
export interface Exposure {
  address: string;
  /** The live entry that admits it, canonical. */
  entry: string;
  /** The entry's key exactly as HAProxy holds it (what `del map` needs), when that differs. */
  key?: string;
  value: string | null;
  owner: "self" | "foreign";
  reason: ExposureReason;
  /** For a `too-broad` exposure of the live list as a whole: the total it admits, against guards.maxAddresses, and its broadest entries. */
  detail?: string;
}

/** One key held under more than one value. */
export interface Duplicate {
  entry: string;
  values: string[];
}

/** What HAProxy holds that this tool did not plan, and who gets in that should not. */
export interface Findings {
  /** Owned entries this tool never planned (drift): no grace period, removed by the next sync. */
  unexpected: string[];
  /** Desired entries this tool had put in place that disappeared behind its back (drift). */
  vanished: string[];
  duplicates: Duplicate[];
  exposures: Exposure[];
  /** Removed entries not put to the matcher this run (over the per-run limit). */
  uncheckedRemovals?: number;
}

export interface InstanceResult extends Partial<Findings> {
  target: string;
  status: InstanceStatus;
  add: string[];
  remove: string[];
  pendingRemoval: PendingRemoval[];
  error: string | null;
  errorCode?: ErrorCode;
  /** HAProxy version reported by `show info`, when reached. */
  haproxyVersion?: string;
  /** Where the instance was left after a failure, in words. */
  state?: string;
  /** The same, as data: what the audit trail keeps. */
  left?: LeftState;
  committedVersion?: number;
  ownedCount?: number;
  foreignCount?: number;
  /** Owned keys rewritten from a previous value to the current one. */
  rewrite?: string[];
  /** Owned copies dropped although their key stays (previous values, extra copies). */
  superseded?: number;
  /** About the instance itself rather than its list (an unauthenticated runtime API). */
  warnings?: string[];
  /** Digest of the live list as this run read it, for a reviewed plan (`sync --plan`). */
  liveDigest?: string;
}

export interface SourceStatus {
  name: string;
  type: SourceType;
  status: "ok" | "failed";
  count: number;
  /** Digest of the raw values the source returned. */
  digest?: string;
  durationMs: number;
  /** Addresses the resolvers did not agree on (dns sources with several resolvers). */
  disagreements?: Disagreement[];
  error?: string;
  errorCode?: ErrorCode;
}

/** A guard's verdict as results report it. */
export interface GuardTripSummary {
  guard: GuardName;
  message: string;
  target?: string;
}

export interface HeldBy {
  guard: GuardName;
  message: string;
  /** Every guard that tripped, the leading one first. */
  trips: GuardTripSummary[];
}

interface DeliveryOutcome {
  sink: string;
  phase?: AlertPhase;
  ok: boolean;
  error: string | null;
  /** Why it was not delivered (E_ALERT_*), when it was not. */
  errorCode?: ErrorCode;
}

/** A message to a chat sink (Slack, a webhook): about one event. */
export interface MessageDelivery extends DeliveryOutcome {
  event: AlertEventName;
}

/** One push to Alertmanager: every event among the conditions it was told of, each once. */
export interface AlertmanagerDelivery extends DeliveryOutcome {
  events: AlertEventName[];
}

export type AlertDelivery = MessageDelivery | AlertmanagerDelivery;

/** The events a delivery was about, whichever kind of sink it went to. */
export function deliveredEvents(delivery: AlertDelivery): AlertEventName[] {
  return "events" in delivery ? delivery.events : [delivery.event];
}

/** A firing condition not sent again this run: it was sent at `lastSent`, and is repeated no sooner than `nextReminder`. */
export interface SuppressedAlertInfo {
  event: AlertEventName;
  target: string;
  lastSent: string;
  nextReminder: string;
}

export interface RunResult {
  version: 1;
  runId: string;
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  desired: DesiredSummary;
  sources: SourceStatus[];
  instances: InstanceResult[];
  held: HeldBy | null;
  /** --force was given; `overridden` lists the guards it set aside. */
  forced: boolean;
  overridden: GuardTripSummary[];
  /** New entries outside guards.expected. */
  unexpected: string[];
  /** --no-grace was given: absent entries were removed without the grace period. */
  noGrace: boolean;
  /** How often each address came or went over the last day (non-zero only). */
  flaps: Record<string, number>;
  /** Set when the removal state was missing or corrupt and started over. */
  stateNotice: string | null;
  alerts: AlertDelivery[];
  /** The reviewed plan this run applied (`sync --plan`): its digest and when it was made. */
  reviewedPlan?: { digest: string; createdAt: string };
  /** Firing conditions already sent, not repeated this run. */
  alertsSuppressed?: SuppressedAlertInfo[];
  /** With `haproxy.denials`: who the tables showed as turned away once the run was done. */
  denied?: RunDenials;
  /** Why the whole run failed before any instance could be planned. */
  error: ErrorSummary | null;
  /** How the run ended as a whole; each instance's own end is its `status`. */
  outcome: RunOutcome;
  /** The audit trail's head once the run was recorded (or counted), an anchor for `audit verify --anchor`; null when nothing was recorded. */
  auditHead?: { seq: number; hash: string } | null;
}

/**
 * How a run ended: `failed` (the run or an instance failed), `held` (a guard
 * held it, nothing applied), `pending` (changes planned, not made: a dry run,
 * or a removal waiting out its grace period in one), `applied`, `in-sync`.
 */
export const RUN_OUTCOMES = ["in-sync", "applied", "pending", "held", "failed"] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

/** The outcome of a finished run, from what it did on each instance. */
export function runOutcomeOf(result: Pick<RunResult, "error" | "instances" | "held" | "dryRun">): RunOutcome {
  if (result.error || result.instances.some((i) => i.status === "failed")) return "failed";
  if (result.held) return "held";
  // A removal waiting out its grace period is a change still to come, as a planned one is.
  if (result.instances.some((i) => i.status === "planned" || (result.dryRun && i.pendingRemoval.length > 0))) return "pending";
  return result.instances.some((i) => i.status === "applied") ? "applied" : "in-sync";
}
