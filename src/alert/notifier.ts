import type { Dispatcher } from "undici";
import type { Config } from "../config/schema.js";
import { errorCode } from "../errors.js";
import { redactUrl } from "../util/url.js";
import { Scrubber } from "../util/secrets.js";
import type { AlertPhase } from "../model/alerts.js";
import type { AlertDelivery } from "../model/result.js";
import { postJson } from "./deliver.js";
import type { AlertPlan } from "./lifecycle.js";
import { alertmanagerPayload, slackPayload, webhookPayload } from "./payloads.js";

type Sink = NonNullable<Config["alerts"]>["sinks"][number];

export interface NotifierOptions {
  dispatcher?: Dispatcher;
  backoffMs?: number;
  retries?: number;
  now?: () => Date;
  /** Takes the config's secrets out of every payload and reply quoted (default: knows none). */
  scrubber?: Scrubber;
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
 * A name for each sink that says where it goes without its secrets, and tells
 * sinks apart: two Slack webhooks both read `hooks.slack.com/services/***`,
 * so the second is `#2`. Results, logs and the per-sink alert memory use it.
 */
export function sinkLabels(sinks: ReadonlyArray<Sink>): string[] {
  const seen = new Map<string, number>();
  return sinks.map((sink) => {
    const label = sinkLabel(sink);
    const count = (seen.get(label) ?? 0) + 1;
    seen.set(label, count);
    return count === 1 ? label : `${label} #${count}`;
  });
}

function alertmanagerUrl(base: string): string {
  return `${base.replace(/\/+$/, "")}/api/v2/alerts`;
}

export function createNotifier(sinks: Sink[], options: NotifierOptions = {}): Notifier {
  const now = options.now ?? (() => new Date());
  const labels = sinkLabels(sinks);
  const scrubber = options.scrubber ?? new Scrubber();
  return {
    async notify(plan) {
      const deliveries = await Promise.all(
        sinks.map(async (sink, i): Promise<AlertDelivery[]> => {
          const label = labels[i] as string;
          const post = (url: string, payload: unknown) =>
            postJson(url, payload, {
              sink: label,
              headers: sink.type === "webhook" ? sink.headers : undefined,
              timeoutMs: sink.timeoutMs,
              retries: options.retries ?? 2,
              backoffMs: options.backoffMs ?? 500,
              dispatcher: options.dispatcher,
              scrubber,
            });
          const deliver = async (event: string, phase: AlertPhase, url: string, payload: unknown): Promise<AlertDelivery> => {
            try {
              await post(url, payload);
              return { sink: label, event, phase, ok: true, error: null };
            } catch (err) {
              return { sink: label, event, phase, ok: false, error: (err as Error).message, errorCode: errorCode(err) };
            }
          };
          if (sink.type === "alertmanager") {
            const alerts = alertmanagerPayload(plan, now(), plan.horizonMs);
            if (alerts.length === 0) return [];
            const events = [...new Set(alerts.map((a) => a.labels.event as string))].join(",");
            const phase = plan.firing.length > 0 || plan.messages.some((m) => m.event === "changed") ? "firing" : "resolved";
            return [await deliver(events, phase, alertmanagerUrl(sink.url), alerts)];
          }
          const results: AlertDelivery[] = [];
          for (const { sinks: only, ...message } of plan.messages) {
            // Which sinks a retry is for is this tool's bookkeeping, not part of what a sink is told.
            if (only && !only.includes(label)) continue;
            results.push(await deliver(message.event, message.phase, sink.url, sink.type === "slack" ? slackPayload(message) : webhookPayload(message)));
          }
          return results;
        }),
      );
      return deliveries.flat();
    },
  };
}
