import type { AlertEventName, AlertPhase, AlertState, FiringAlert } from "../model/alerts.js";
import type { AlertEvent } from "./events.js";
import { alertKey, untold } from "./identity.js";

export interface SuppressedAlert {
  event: AlertEventName;
  target: string;
  lastSent: string;
  /** No reminder before this time (`alerts.repeatInterval`). */
  nextReminder: string;
}

export interface AlertPlan {
  /**
   * Messages for Slack and webhooks: a condition when it starts, a reminder, its end; `changed` each time.
   * `sinks` (labels) limits a message to the chat sinks that refused it last run.
   */
  messages: Array<AlertEvent & { phase: AlertPhase; sinks?: string[] }>;
  /** Every condition firing now, as this run found it, for Alertmanager, which is told on every run (it deduplicates itself). */
  firing: FiringAlert[];
  /** Conditions that ended in this run: sent once, then forgotten. */
  resolved: FiringAlert[];
  suppressed: SuppressedAlert[];
  next: AlertState;
}

const GIVE_UP_MS = 86_400_000;

/** The conditions an event stands for, each with what it is about now. */
function conditionsOf(event: AlertEvent, now: string): Array<[string, FiringAlert, string[]]> {
  return event.conditions.map(({ target, about }) => [
    alertKey(event.event, target, event.guard),
    { event: event.event, target, guard: event.guard, severity: event.severity, summary: event.summary, since: now, lastSent: now },
    about,
  ]);
}

/** An empty set is not written down: most conditions (a hold, a failure) are about no entries. */
function withAbout(alert: FiringAlert, about: string[]): FiringAlert {
  const { about: _previous, ...rest } = alert;
  return about.length > 0 ? { ...rest, about } : rest;
}

/**
 * Which alerts a finished run sends: a condition once when it starts, again
 * at once when it is about something its last message did not name (a new
 * entry, exposure or address; a set that only shrank is not news), a
 * reminder no sooner than `repeatIntervalMs`, and its end once. A run that
 * failed before it could judge the others (`judged: false`) ends none of them.
 */
export function planAlerts(previous: AlertState, events: AlertEvent[], options: AlertPlanOptions): AlertPlan {
  const now = options.now.toISOString();
  // What the next run compares with: each condition as its last message told it.
  const firing: Record<string, FiringAlert> = {};
  // What Alertmanager is told: each condition as this run found it.
  const firingNow: FiringAlert[] = [];
  const messages: AlertMessage[] = [];
  const suppressed: SuppressedAlert[] = [];
  for (const event of events) {
    if (event.event === "changed") {
      messages.push({ ...event, phase: "firing" });
      continue;
    }
    const judged = judgeEvent(event, previous, options, now);
    if (judged.message) messages.push(judged.message);
    for (const { key, told, found } of judged.conditions) {
      firing[key] = told;
      firingNow.push(found);
    }
    suppressed.push(...judged.suppressed);
  }
  const { resolved, unjudged } = endings(previous, firing, options);
  for (const [key, before] of unjudged) {
    firing[key] = before;
    firingNow.push(before);
  }
  return { messages: [...messages, ...endMessages(resolved, options.runId, now)], firing: firingNow, resolved, suppressed, next: { version: 1, firing } };
}

/** When the run ended, how often a firing condition is told again, whether the run judged the conditions, and its id. */
export interface AlertPlanOptions {
  now: Date;
  repeatIntervalMs: number;
  judged: boolean;
  runId: string;
}

type AlertMessage = AlertPlan["messages"][number];

/** What one event's conditions come to this run: the message sent, if any, and each condition as told and as found. */
interface JudgedEvent {
  message: AlertMessage | undefined;
  /** `told`: as its last message told it, for the next run to compare with; `found`: as this run found it, for Alertmanager. */
  conditions: Array<{ key: string; told: FiringAlert; found: FiringAlert }>;
  suppressed: SuppressedAlert[];
}

function judgeEvent(event: AlertEvent, previous: AlertState, options: AlertPlanOptions, now: string): JudgedEvent {
  const conditions = conditionsOf(event, now);
  // A condition that ended and fires again is a new start.
  const known = conditions.map(([key]) => (previous.firing[key]?.ended ? undefined : previous.firing[key]));
  const starts = known.some((k) => k === undefined);
  const grew = conditions.some(([, , about], i) => known[i] !== undefined && untold(about, known[i]?.about).length > 0);
  const due = known.some((k) => k !== undefined && Date.parse(k.lastSent) + options.repeatIntervalMs <= options.now.getTime());
  const sent = starts || grew || due;
  const message: AlertMessage | undefined = sent ? { ...event, phase: starts || grew ? "firing" : "reminder" } : retryMessage(event, known);
  const judged = conditions.map(([key, condition, about], i) => {
    const before = known[i];
    const alert: FiringAlert = {
      ...condition,
      since: before?.since ?? now,
      lastSent: sent ? now : (before?.lastSent ?? now),
      ...(!sent && before?.unsent ? { unsent: before.unsent } : {}),
    };
    return { key, told: withAbout(alert, sent ? about : (before?.about ?? [])), found: withAbout(alert, about) };
  });
  const suppressed = sent ? [] : conditions.flatMap(([, condition], i) => suppressedUntil(condition, known[i], options.repeatIntervalMs));
  return { message, conditions: judged, suppressed };
}

/** Sent last run, but some chat sinks refused it: to them alone, before any reminder is due. */
function retryMessage(event: AlertEvent, known: ReadonlyArray<FiringAlert | undefined>): AlertMessage | undefined {
  const unsent = known.flatMap((k) => (k?.unsent && k.unsent.phase !== "resolved" ? [k.unsent] : []));
  if (unsent.length === 0) return undefined;
  const phase = unsent.some((u) => u.phase === "firing") ? "firing" : "reminder";
  return { ...event, phase, sinks: [...new Set(unsent.flatMap((u) => u.sinks))] };
}

/** A condition already told and not told again this run: none for one that starts now. */
function suppressedUntil(condition: FiringAlert, before: FiringAlert | undefined, repeatIntervalMs: number): SuppressedAlert[] {
  if (!before) return [];
  const nextReminder = new Date(Date.parse(before.lastSent) + repeatIntervalMs).toISOString();
  return [{ event: condition.event, target: condition.target, lastSent: before.lastSent, nextReminder }];
}

/** Conditions firing before that this run did not find: ended, or still firing as far as anyone knows when the run judged nothing. */
function endings(
  previous: AlertState,
  firing: Readonly<Record<string, FiringAlert>>,
  options: AlertPlanOptions,
): { resolved: FiringAlert[]; unjudged: Array<[string, FiringAlert]> } {
  const resolved: FiringAlert[] = [];
  const unjudged: Array<[string, FiringAlert]> = [];
  for (const [key, before] of Object.entries(previous.firing)) {
    if (firing[key]) continue;
    // An end no sink would take for a day is given up: a revoked webhook must not keep the state growing.
    if (before.ended && options.now.getTime() - Date.parse(before.ended) > GIVE_UP_MS) continue;
    // Not judged this run (it failed before planning): still firing as far as anyone knows.
    if (!options.judged && before.event !== "failed" && !before.ended) unjudged.push([key, before]);
    else resolved.push(before);
  }
  return { resolved, unjudged };
}

/** An end not told yet goes to every sink; one already told to the chat sinks goes to Alertmanager again, not to them; to those that refused it, again. */
function endMessages(resolved: ReadonlyArray<FiringAlert>, runId: string, now: string): AlertMessage[] {
  const told = resolved.filter((r) => !r.ended);
  const retold = new Map<string, FiringAlert[]>();
  for (const r of resolved) {
    if (!r.ended || r.unsent?.phase !== "resolved") continue;
    const sinks = [...r.unsent.sinks].sort().join("\n");
    retold.set(sinks, [...(retold.get(sinks) ?? []), r]);
  }
  const retries = [...retold].flatMap(([sinks, ended]) => resolvedMessages(ended, runId, now).map((m) => ({ ...m, sinks: sinks.split("\n") })));
  return [...resolvedMessages(told, runId, now), ...retries];
}

/** One message per event whose conditions ended, naming the instances. */
function resolvedMessages(resolved: FiringAlert[], runId: string, now: string): AlertMessage[] {
  const byEvent = new Map<AlertEventName, FiringAlert[]>();
  for (const r of resolved) byEvent.set(r.event, [...(byEvent.get(r.event) ?? []), r]);
  return [...byEvent].map(([event, ended]) => {
    const where = ended.map((e) => e.target || "the run").join(", ");
    const since = ended.map((e) => e.since).sort()[0] as string;
    return {
      phase: "resolved",
      event,
      severity: "info",
      summary: `resolved: ${event} on ${where}, firing since ${since}`,
      runId,
      time: now,
      dryRun: false,
      forced: false,
      guard: ended[0]?.guard ?? null,
      desired: { count: 0, digest: null },
      counts: { add: 0, remove: 0 },
      entries: { add: [], remove: [] },
      unexpected: [],
      flaps: {},
      instances: ended.filter((e) => e.target !== "").map((e) => ({ target: e.target, status: "resolved", add: 0, remove: 0, error: null })),
      conditions: ended.map((e) => ({ target: e.target, about: e.about ?? [] })),
    };
  });
}
