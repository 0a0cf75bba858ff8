import type { Logger } from "pino";
import { formatDuration } from "../config/duration.js";
import { alertEvents } from "../alert/events.js";
import { alertKey } from "../alert/identity.js";
import { type AlertPlan, planAlerts } from "../alert/lifecycle.js";
import { type AlertEventName, type AlertPhase, type AlertState, type SinkType, emptyAlertState } from "../model/alerts.js";
import { sinkLabels } from "../alert/notifier.js";
import type { Config } from "../config/schema.js";
import { type AlertDelivery, deliveredEvents, type RunResult } from "../model/result.js";
import type { RunDeps } from "./deps.js";

/** Alertmanager keeps a firing alert current for this many schedule periods after the last run that saw it. */
const PERIODS_AHEAD = 3;

/**
 * Alerts never change the exit code; an undelivered alert is logged and listed in the result.
 * A condition is sent when it starts, at once when it is about an entry or address its last message
 * did not name, again after `alerts.repeatInterval`, and once when it ends;
 * what was already sent is listed as suppressed. Delivery ends by the run's deadline (`runTimeout`):
 * what is still under way then is reported as not delivered, and tried again next run.
 */
export async function sendAlerts(
  result: RunResult,
  config: Config,
  deps: Pick<RunDeps, "notifier" | "alertState">,
  log: Logger,
  now: () => Date,
  deadline: number,
): Promise<Pick<RunResult, "alerts" | "alertsSuppressed">> {
  // With no sink there is nobody to tell, not even in a dry run's "would send" lines.
  const on: AlertEventName[] = config.alerts.sinks.length > 0 ? config.alerts.on : [];
  if (on.length === 0 || (!deps.notifier && !result.dryRun)) return { alerts: [] };
  const at = now();
  const events = alertEvents(result, on, at);
  if (result.dryRun) {
    for (const e of events) log.info({ alert: e.event }, `dry run, not sent: ${e.summary}`);
    return { alerts: [] };
  }
  if (!deps.notifier) return { alerts: [] };
  const previous = deps.alertState ? await deps.alertState.load() : emptyAlertState();
  // A run that never resolved its desired set judged nothing but its own failure.
  const plan = planAlerts(previous, events, {
    now: at,
    repeatIntervalMs: config.alerts.repeatIntervalMs,
    judged: result.desired.digest !== null,
    runId: result.runId,
  });
  for (const s of plan.suppressed)
    log.info({ alert: s.event, target: s.target, lastSent: s.lastSent, nextReminder: s.nextReminder }, "alert already sent; not repeated yet");
  let deliveries: AlertDelivery[] = [];
  if (plan.messages.length > 0 || plan.firing.length > 0 || plan.resolved.length > 0) {
    const horizonMs = PERIODS_AHEAD * config.schedulePeriodMs;
    deliveries = await byDeadline(deps.notifier.notify({ ...plan, horizonMs }), deadline, () =>
      sinkLabels(config.alerts.sinks).flatMap((sink) =>
        // A retry meant for other sinks was never this sink's to deliver.
        plan.messages
          .filter((m) => !m.sinks || m.sinks.includes(sink))
          .map((m) => ({
            sink,
            event: m.event,
            phase: m.phase,
            ok: false,
            error: `delivery still under way at the run's deadline (runTimeout ${formatDuration(config.runTimeoutMs)})`,
            errorCode: "E_ALERT_TIMEOUT",
          })),
      ),
    );
  }
  for (const d of deliveries) {
    const alert = deliveredEvents(d).join(",");
    if (d.ok) log.info({ sink: d.sink, alert, phase: d.phase }, "alert sent");
    else log.error({ err: { code: d.errorCode, message: d.error }, sink: d.sink, alert, phase: d.phase }, "alert could not be delivered");
  }
  await deps.alertState
    ?.save(remembered(plan, deliveries, sinkTypes(config.alerts.sinks), at))
    .catch((err: unknown) => log.error({ err }, "the alert state could not be saved; firing alerts may be sent again next run"));
  return { alerts: deliveries, ...(plan.suppressed.length > 0 ? { alertsSuppressed: plan.suppressed } : {}) };
}

/** Each sink's type by its label, the name deliveries carry. */
function sinkTypes(sinks: Config["alerts"]["sinks"]): Map<string, SinkType> {
  const labels = sinkLabels(sinks);
  return new Map(sinks.map((sink, i) => [labels[i] ?? "", sink.type]));
}

/**
 * The next state, with what did not reach a sink kept to be tried again next
 * run, for that sink alone: a start, reminder or end a chat sink refused is
 * sent to that sink again; an end only Alertmanager refused is kept as
 * `ended` and sent to Alertmanager alone. Alertmanager hears every firing
 * condition on every run anyway.
 */
function remembered(plan: AlertPlan, deliveries: AlertDelivery[], typeOf: ReadonlyMap<string, SinkType>, now: Date): AlertState {
  const refused = new Map<string, Set<string>>();
  for (const d of deliveries) {
    if (d.ok || typeOf.get(d.sink) === "alertmanager") continue;
    for (const event of deliveredEvents(d)) {
      const key = `${event}|${d.phase ?? ""}`;
      refused.set(key, (refused.get(key) ?? new Set()).add(d.sink));
    }
  }
  const managerFailed = deliveries.some((d) => typeOf.get(d.sink) === "alertmanager" && !d.ok);
  const told = new Map<string, AlertPhase>();
  for (const m of plan.messages) if (m.phase !== "resolved") told.set(m.event, m.phase);
  const firing: AlertState["firing"] = {};
  for (const [key, alert] of Object.entries(plan.next.firing)) {
    const phase = told.get(alert.event);
    // Nothing said about it this run: what it still owes a sink stays as planned.
    if (phase === undefined) {
      firing[key] = alert;
      continue;
    }
    const { unsent: _told, ...rest } = alert;
    const sinks = refused.get(`${alert.event}|${phase}`);
    firing[key] = sinks ? { ...rest, unsent: { phase, sinks: [...sinks] } } : rest;
  }
  for (const before of plan.resolved) {
    const key = alertKey(before.event, before.target, before.guard);
    if (firing[key]) continue;
    const sinks = refused.get(`${before.event}|resolved`);
    if (!sinks && !managerFailed) continue;
    const { unsent: _told, ...rest } = before;
    firing[key] = { ...rest, ended: before.ended ?? now.toISOString(), ...(sinks ? { unsent: { phase: "resolved" as const, sinks: [...sinks] } } : {}) };
  }
  return { version: 1, firing };
}

async function byDeadline<T>(work: Promise<T>, deadline: number, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
