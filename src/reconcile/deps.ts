import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { Notifier } from "../alert/notifier.js";
import type { AlertStore } from "../state/alert-store.js";
import type { ReviewedPlan } from "../model/reviewed-plan.js";
import type { AuditContext } from "../audit/body.js";
import type { AuditBody, AuditRecord, AuditTrigger } from "../audit/record.js";
import type { UdpResolver } from "../util/resolver.js";
import type { ListKind, LiveEntry, MatchAnswer, WritableEntry } from "../model/list.js";
import type { RunLiveEntries } from "../haproxy/live-budget.js";
import type { ApplyOutcome, ListSnapshot, LiveList, ReadLimits } from "../haproxy/runtime.js";
import type { TableRead, TableReadOptions } from "../haproxy/stick-table-reader.js";
import type { AbsenceState } from "../model/absence.js";
import type { Source } from "../sources/types.js";
import type { LastRun } from "./last-run.js";
import type { LoadedAbsenceState } from "../state/absence-store.js";
import type { Scrubber } from "../util/secrets.js";

/** What the reconciler needs of one HAProxy instance; HaproxyInstance is the real one. */
export interface RuntimeTarget {
  readonly target: string;
  readonly version: string;
  readonly transactional: boolean;
  /** The HAProxy process that answered (`pid@start`), when `show info` says. */
  readonly process?: string | undefined;
  readList(kind: ListKind, file: string): Promise<LiveList>;
  replace(kind: ListKind, file: string, content: WritableEntry[], snapshot: ListSnapshot): Promise<ApplyOutcome>;
  applyIncremental(kind: ListKind, file: string, add: WritableEntry[], remove: LiveEntry[]): Promise<ApplyOutcome>;
  /** HAProxy's own matcher (`get map`/`get acl`) on each address. */
  match(kind: ListKind, file: string, addresses: ReadonlyArray<string>): Promise<MatchAnswer[]>;
  /** The denied clients' stick table (`show table NAME`). */
  readTable(table: string, options: TableReadOptions): Promise<TableRead>;
  /** True when `version` is the live version of the list and holds `count` entries, nothing else staged. */
  isLive(kind: ListKind, file: string, version: number, count: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The audit trail as the reconciler uses it; AuditTrail is the real one. */
export interface AuditWriter {
  last(): Promise<AuditRecord | undefined>;
  append(body: AuditBody): Promise<AuditRecord>;
  /** Identical in-sync runs left out since record `afterSeq`, and counting one more (`audit.heartbeat`). */
  quietRuns?(afterSeq: number): Promise<number>;
  noteQuietRun?(afterSeq: number): Promise<number>;
}

export interface ProgressEvent {
  phase: "read" | "apply";
  done: number;
  total: number;
}

/** Where the removal grace period keeps its memory; the state store in stateDir is the real one. */
export interface RemovalStateStore {
  load(map: string): Promise<LoadedAbsenceState>;
  save(state: AbsenceState): Promise<void>;
}

export interface RunDeps {
  logger: Logger;
  /** Takes the config's secrets out of audit records before they are sealed. */
  scrubber: Scrubber;
  audit: { trail: AuditWriter; context: AuditContext };
  removalState: RemovalStateStore;
  sources: Source[];
  /** Opens an instance; within a run, `reading` holds its list to the run's memory budget and deadlines. */
  connect: (target: string, reading?: ReadLimits) => Promise<RuntimeTarget>;
  /** Live entries the run may hold, all instances together; by default what V8's heap limit leaves room for (runLiveEntries). */
  liveEntryBudget?: RunLiveEntries;
  /** When the run must have ended (epoch ms, real time), so each instance's deadlines keep within it; set by runOnce. */
  runEndsAt?: number;
  /** Seams for `haproxy.discover`: its DNS lookups use the project's client. */
  discovery?: { dispatcher?: Dispatcher; defaultResolvers?: () => UdpResolver[] };
  /** Sends alerts; without one, alerts are only logged. */
  notifier?: Notifier;
  /** Only these instances (`--instance`); all of them when absent. */
  instances?: ReadonlyArray<string>;
  /** What was firing after the last run, for the alert lifecycle. */
  alertState?: AlertStore;
  /**
   * Takes the run lock shared by syncs on this host (`stateDir/sync.lock`), so that
   * two of them never plan against each other; resolves with its release.
   */
  runLock?: () => Promise<() => Promise<void>>;
  /** Told as instances are read and applied (a progress line on a terminal). */
  progress?: (event: ProgressEvent) => void;
  now?: () => Date;
  newRunId?: () => string;
}

/** The clock a run reads: the one its deps inject, else the system's. */
export function clockOf(deps: { now?: (() => Date) | undefined }): () => Date {
  return deps.now ?? (() => new Date());
}

export interface RunOptions {
  dryRun: boolean;
  /** Sets aside the threshold guards (never minEntries or maxAddresses, never validation). */
  force?: boolean;
  /** Aborts the run if raised before its first change; a run that has started changing finishes. */
  signal?: AbortSignal;
  /** Removes absent entries at once, skipping guards.removeAfter (recorded as such). */
  noGrace?: boolean;
  /** Apply exactly this reviewed plan, its guards already reviewed; refused if anything moved since. */
  reviewed?: { plan: ReviewedPlan; digest: string };
  /** What started this run, when it is not what started the process (the daemon's restart watch). */
  trigger?: AuditTrigger;
  /** Told, once a real run with `haproxy.denials` has read the tables, what it knew: the daemon's looks judge the tables by it until the next run. */
  keepLastRun?: (lastRun: LastRun) => void;
}
