import type { Dispatcher } from "undici";
import type { Config } from "../config/schema.js";
import { errorCode } from "../errors.js";
import { redactUrl } from "../util/url.js";
import type { Scrubber } from "../util/secrets.js";
import type { AlertDelivery, MessageDelivery } from "../model/result.js";
import { postJson } from "./deliver.js";
import type { AlertPlan } from "./lifecycle.js";
import { alertmanagerPayload, slackPayload, webhookPayload } from "./payloads.js";

type Sink = NonNullable<Config["alerts"]>["sinks"][number];

export interface NotifierOptions {
  dispatcher?: Dispatcher;
  backoffMs?: number;
  retries?: number;
  now?: () => Date;
  /** Takes the config's secrets out of every payload and reply quoted. */
  scrubber: Scrubber;
}

/** What one run tells the sinks, and how long Alertmanager should consider a firing alert current. */
export type NotifyPlan = Pick<AlertPlan, "messages" | "firing" | "resolved"> & { horizonMs: number };

export interface Notifier {
  /** Messages to Slack and webhooks, the firing and ended conditions to Alertmanager; never throws, reports each delivery. */
  notify(plan: NotifyPlan): Promise<AlertDelivery[]>;
}

function sinkLabel(sink: Sink): string {
  return `${sink.type} ${redactUrl(sink.url)}`;
}

/**
 * Each sink with a name that says where it goes without its secrets, and
 * tells sinks apart: two Slack webhooks both read
 * `hooks.slack.com/services/***`, so the second is `#2`.
 */
function labelledSinks(sinks: ReadonlyArray<Sink>): Array<{ sink: Sink; label: string }> {
  const seen = new Map<string, number>();
  return sinks.map((sink) => {
    const label = sinkLabel(sink);
    const count = (seen.get(label) ?? 0) + 1;
    seen.set(label, count);
    return { sink, label: count === 1 ? label : `${label} #${count}` };
  });
}

/** Each sink's name, in the order of the config: results, logs and the per-sink alert memory use it. */
export function sinkLabels(sinks: ReadonlyArray<Sink>): string[] {
  return labelledSinks(sinks).map(({ label }) => label);
}

function alertmanagerUrl(base: string): string {
  return `${base.replace(/\/+$/, "")}/api/v2/alerts`;
}

/** A sink, its name, and how a payload is posted to it. */
interface Target {
  sink: Sink;
  label: string;
  post: (url: string, payload: unknown) => Promise<void>;
}

function targetOf(sink: Sink, label: string, options: NotifierOptions): Target {
  const post = (url: string, payload: unknown) =>
    postJson(url, payload, {
      sink: label,
      headers: sink.type === "webhook" ? sink.headers : undefined,
      timeoutMs: sink.timeoutMs,
      retries: options.retries ?? 2,
      backoffMs: options.backoffMs ?? 500,
      dispatcher: options.dispatcher,
      scrubber: options.scrubber,
    });
  return { sink, label, post };
}

type Outcome = Pick<MessageDelivery, "ok" | "error" | "errorCode">;

/** How one post ended: delivered, or the error that stopped it. */
async function outcomeOf(post: Promise<void>): Promise<Outcome> {
  try {
    await post;
    return { ok: true, error: null };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err), errorCode: errorCode(err) };
  }
}

/** Every firing and ended condition in one push, recorded with each event it carried. */
async function toAlertmanager(plan: NotifyPlan, target: Target, now: Date): Promise<AlertDelivery[]> {
  const alerts = alertmanagerPayload(plan, now, plan.horizonMs);
  if (alerts.length === 0) return [];
  const events = [...new Set(alerts.map((alert) => alert.labels.event))];
  const phase = plan.firing.length > 0 || plan.messages.some((m) => m.event === "changed") ? "firing" : "resolved";
  return [{ sink: target.label, events, phase, ...(await outcomeOf(target.post(alertmanagerUrl(target.sink.url), alerts))) }];
}

/** Each message meant for this chat sink, one post at a time. */
async function toChat(plan: NotifyPlan, target: Target): Promise<AlertDelivery[]> {
  const results: AlertDelivery[] = [];
  for (const { sinks: only, ...message } of plan.messages) {
    // Which sinks a retry is for is this tool's bookkeeping, not part of what a sink is told.
    if (only && !only.includes(target.label)) continue;
    const payload = target.sink.type === "slack" ? slackPayload(message) : webhookPayload(message);
    results.push({ sink: target.label, event: message.event, phase: message.phase, ...(await outcomeOf(target.post(target.sink.url, payload))) });
  }
  return results;
}

export function createNotifier(sinks: Sink[], options: NotifierOptions): Notifier {
  const now = options.now ?? (() => new Date());
  const targets = labelledSinks(sinks).map(({ sink, label }) => targetOf(sink, label, options));
  return {
    async notify(plan) {
      const deliveries = await Promise.all(
        targets.map((target) => (target.sink.type === "alertmanager" ? toAlertmanager(plan, target, now()) : toChat(plan, target))),
      );
      return deliveries.flat();
    },
  };
}
