import { type Dispatcher, request } from "undici";
import { AlertError } from "../errors.js";
import { readStart } from "../util/body.js";
import { printable } from "../util/printable.js";
import { headersWithUrlAuth, withBasicAuth } from "../util/url.js";
import { scrubbedStart, scrubSecrets } from "../util/secrets.js";

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
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function attempt(url: string, body: string, options: PostOptions): Promise<void> {
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "travis-allowlist", ...options.headers },
      body,
      signal: AbortSignal.timeout(options.timeoutMs),
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
  } catch (err) {
    const name = (err as Error).name;
    if (name === "TimeoutError" || name === "AbortError") {
      throw new AlertError("E_ALERT_TIMEOUT", options.sink, `no answer within ${options.timeoutMs} ms`, { cause: err });
    }
    // undici's messages can carry the URL; ours never do.
    throw new AlertError("E_ALERT_NETWORK", options.sink, `network error (${(err as NodeJS.ErrnoException).code ?? name})`, { cause: err });
  }
  // Only the start of a reply is shown; a sink that floods its answer is not read further.
  const text = (await readStart(response.body, 4096).catch(() => Buffer.alloc(0))).toString("utf8");
  if (response.statusCode >= 200 && response.statusCode < 300) return;
  throw new AlertError("E_ALERT_HTTP", options.sink, `HTTP ${response.statusCode}: ${printable(scrubbedStart(text, 200))}`, { status: response.statusCode });
}

/** POSTs JSON, retrying 5xx answers and network errors with exponential backoff. */
export async function postJson(url: string, payload: unknown, options: PostOptions): Promise<void> {
  const body = scrubSecrets(JSON.stringify(payload));
  const sleep = options.sleep ?? defaultSleep;
  // Credentials in the URL go as Basic auth (undici would drop them); a configured Authorization header wins.
  const { url: target, authorization } = withBasicAuth(url);
  const sent = { ...options, headers: headersWithUrlAuth(options.headers, authorization) };
  for (let n = 0; ; n++) {
    try {
      await attempt(target, body, sent);
      return;
    } catch (err) {
      const retryable = !(err instanceof AlertError && err.status !== undefined && err.status < 500);
      if (!retryable || n >= options.retries) throw err;
      await sleep(options.backoffMs * 2 ** n);
    }
  }
}
