import type { Dispatcher } from "undici";
import { AlertError } from "../errors.js";
import { send } from "../http/client.js";
import type { HttpFailure } from "../http/failure.js";
import { withRetries } from "../http/retry.js";
import { printable } from "../util/printable.js";
import type { Scrubber } from "../util/secrets.js";

export interface PostOptions {
  /** Label for messages, URL already redacted. */
  sink: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** Further attempts after a 5xx answer or a network error; a 4xx is final. */
  retries: number;
  backoffMs: number;
  dispatcher?: Dispatcher;
  sleep?: (ms: number) => Promise<void>;
  scrubber: Scrubber;
}

/** Only the start of a reply is shown; a sink that floods its answer is not read further. */
const REPLY_LIMIT = 4096;

/** How a sink names a failed exchange; undici's messages can carry the URL, these never do. */
function exchangeFailure(options: PostOptions): (failure: HttpFailure) => AlertError {
  return ({ kind, detail, cause }) =>
    kind === "timeout"
      ? new AlertError("E_ALERT_TIMEOUT", options.sink, `no answer within ${options.timeoutMs} ms`, { cause })
      : new AlertError("E_ALERT_NETWORK", options.sink, `network error (${detail})`, { cause });
}

async function attempt(url: string, body: string, options: PostOptions): Promise<void> {
  const response = await send({
    method: "POST",
    url,
    headers: { "content-type": "application/json", ...options.headers },
    body,
    timeoutMs: options.timeoutMs,
    dispatcher: options.dispatcher,
    fail: exchangeFailure(options),
  });
  const text = (await response.readStart(REPLY_LIMIT).catch(() => Buffer.alloc(0))).toString("utf8");
  if (response.status >= 200 && response.status < 300) return;
  throw new AlertError("E_ALERT_HTTP", options.sink, `HTTP ${response.status}: ${printable(options.scrubber.start(text, 200))}`, { status: response.status });
}

/** A 4xx is the sink's final word; a 5xx, a timeout or a network error may pass. */
const retryable = (err: unknown) => !(err instanceof AlertError && err.status !== undefined && err.status < 500);

/**
 * POSTs JSON, retrying 5xx answers and network errors with exponential
 * backoff, each attempt under its own deadline. Credentials in the URL go as
 * Basic auth; a configured Authorization header wins.
 */
export async function postJson(url: string, payload: unknown, options: PostOptions): Promise<void> {
  const body = options.scrubber.text(JSON.stringify(payload));
  await withRetries(() => attempt(url, body, options), options, retryable);
}
