import type { Logger } from "pino";
import { type AlertEventName, alertEvents, resolvedTargets } from "../alert/events.js";
import { sinkLabel } from "../alert/notifier.js";
import type { Config } from "../config/schema.js";
import type { RunResult } from "../model/result.js";
import type { RunDeps } from "./deps.js";

/**
 * Alerts never change the exit code; an undelivered alert is logged and listed in the result.
 * Delivery ends by the run's deadline (`runTimeout`): what is still under way then is reported as not delivered.
 */
export async function sendAlerts(
  result: RunResult,
  config: Config,
  deps: RunDeps,
  log: Logger,
  now: () => Date,
  deadline: number,
): Promise<RunResult["alerts"]> {
  const on: AlertEventName[] = config.alerts?.on ?? [];
  if (on.length === 0 || (!deps.notifier && !result.dryRun)) return [];
  const events = alertEvents(result, on, now());
  if (result.dryRun) {
    for (const e of events) log.info({ alert: e.event }, `dry run, not sent: ${e.summary}`);
    return [];
  }
  if (!deps.notifier) return [];
  const resolves = on.includes("held") || on.includes("failed") ? resolvedTargets(result) : [];
  if (events.length === 0 && resolves.length === 0) return [];
  const deliveries = await byDeadline(deps.notifier.notify(events, resolves), deadline, () =>
    (config.alerts?.sinks ?? []).flatMap((sink) =>
      (events.length > 0 ? events.map((e) => e.event) : ["resolved"]).map((event) => ({
        sink: sinkLabel(sink),
        event,
        ok: false,
        error: `E_ALERT_TIMEOUT: delivery still under way at the run's deadline (runTimeout ${config.runTimeout})`,
      })),
    ),
  );
  for (const d of deliveries) {
    if (d.ok) log.info({ sink: d.sink, alert: d.event }, "alert sent");
    else log.error({ err: { message: d.error }, sink: d.sink, alert: d.event }, "alert could not be delivered");
  }
  return deliveries;
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
