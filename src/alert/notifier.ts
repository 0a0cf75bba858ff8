import type { Dispatcher } from "undici";
import type { Config } from "../config/schema.js";
import { redactUrl } from "../config/redact.js";
import type { AlertDelivery } from "../model/result.js";
import { postJson } from "./deliver.js";
import type { AlertEvent } from "./events.js";
import { alertmanagerPayload, slackPayload, webhookPayload } from "./payloads.js";

type Sink = NonNullable<Config["alerts"]>["sinks"][number];

export interface NotifierOptions {
  dispatcher?: Dispatcher;
  backoffMs?: number;
  retries?: number;
  now?: () => Date;
}

export interface Notifier {
  /** Sends every event to every sink; never throws, reports each delivery. */
  notify(events: AlertEvent[], resolvedTargets: string[]): Promise<AlertDelivery[]>;
}

export function sinkLabel(sink: Sink): string {
  return `${sink.type} ${redactUrl(sink.url)}`;
}

function alertmanagerUrl(base: string): string {
  return `${base.replace(/\/+$/, "")}/api/v2/alerts`;
}

export function createNotifier(sinks: Sink[], options: NotifierOptions = {}): Notifier {
  const now = options.now ?? (() => new Date());
  return {
    async notify(events, resolvedTargets) {
      const deliveries = await Promise.all(
        sinks.map(async (sink): Promise<AlertDelivery[]> => {
          const label = sinkLabel(sink);
          const post = (url: string, payload: unknown) =>
            postJson(url, payload, {
              sink: label,
              headers: sink.type === "webhook" ? sink.headers : undefined,
              timeoutMs: sink.timeoutMs,
              retries: options.retries ?? 2,
              backoffMs: options.backoffMs ?? 500,
              dispatcher: options.dispatcher,
            });
          const deliver = async (event: string, url: string, payload: unknown): Promise<AlertDelivery> => {
            try {
              await post(url, payload);
              return { sink: label, event, ok: true, error: null };
            } catch (err) {
              return { sink: label, event, ok: false, error: (err as Error).message };
            }
          };
          if (sink.type === "alertmanager") {
            const alerts = alertmanagerPayload(events, resolvedTargets, now());
            if (alerts.length === 0) return [];
            const delivery = await deliver(events.map((e) => e.event).join(",") || "resolved", alertmanagerUrl(sink.url), alerts);
            return [delivery];
          }
          const results: AlertDelivery[] = [];
          for (const event of events) {
            results.push(await deliver(event.event, sink.url, sink.type === "slack" ? slackPayload(event) : webhookPayload(event)));
          }
          return results;
        }),
      );
      return deliveries.flat();
    },
  };
}
