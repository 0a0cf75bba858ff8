import type { Dispatcher } from "undici";
import type { Config } from "../config/schema.js";
import { type ErrorCode, SourceError } from "../errors.js";
import { send, type HttpResponse } from "../http/client.js";
import type { HttpFailure } from "../http/failure.js";
import { redactUrl } from "../util/url.js";
import { conditionalHeaders, type CachedFeed, type FeedCache } from "./http-cache.js";
import { JSON_FORMATS } from "./formats.js";

export type HttpSourceConfig = Extract<Config["sources"][number], { type: "http" }>;

export type FeedFail = (code: ErrorCode, message: string, cause?: unknown) => SourceError;

/** The feed's error, naming the source and its URL without credentials. */
export function feedFail(config: HttpSourceConfig): FeedFail {
  const shownUrl = redactUrl(config.url);
  return (code, message, cause) => new SourceError(code, config.name, `${shownUrl}: ${message}`, { cause });
}

/** How a feed names each way an HTTP exchange fails. */
function exchangeFailure(config: HttpSourceConfig, fail: FeedFail): (failure: HttpFailure) => SourceError {
  return ({ kind, phase, detail, cause }) => {
    switch (kind) {
      case "timeout":
        return fail("E_SOURCE_HTTP_TIMEOUT", `${phase === "request" ? "no answer" : "body not complete"} within ${config.timeoutMs} ms`, cause);
      case "too-large":
        return fail("E_SOURCE_HTTP_TOO_LARGE", `body larger than ${config.maxBytes} bytes`, cause);
      case "redirect":
        return fail("E_SOURCE_HTTP_REDIRECT", detail, cause);
      case "cut-off":
        return fail("E_SOURCE_HTTP_TRUNCATED", `the body was cut off (${detail})`, cause);
      case "connection":
      case "tls":
        return fail("E_SOURCE_HTTP_NETWORK", `request failed (${detail})`, cause);
    }
  };
}

const JSON_TYPE = /^application\/([a-z.+-]*\+)?json/i;

/** A feed is a 200 of its format's content type; anything else is refused before its body is read. */
async function refuseUnlessFeed(response: HttpResponse, config: HttpSourceConfig, fail: FeedFail): Promise<void> {
  const refusal = (code: ErrorCode, message: string) => response.discard().then(() => fail(code, message));
  const { status } = response;
  if (status >= 300 && status < 400) throw await refusal("E_SOURCE_HTTP_REDIRECT", `HTTP ${status} without a location`);
  if (status !== 200) throw await refusal("E_SOURCE_HTTP_STATUS", `HTTP ${status}, expected 200`);
  const contentType = response.header("content-type") ?? "";
  if (/text\/html/i.test(contentType)) throw await refusal("E_SOURCE_HTTP_HTML", `got an HTML page (${contentType}), not a feed`);
  if (JSON_FORMATS.has(config.format) && !JSON_TYPE.test(contentType)) {
    const expected = `expected application/json for format ${config.format}`;
    throw await refusal("E_SOURCE_HTTP_CONTENT_TYPE", `content type ${contentType || "(none)"}, ${expected}`);
  }
}

async function reuseCached(response: HttpResponse, cached: CachedFeed | undefined, fail: FeedFail): Promise<string> {
  await response.discard();
  if (!cached) throw fail("E_SOURCE_HTTP_STATUS", "HTTP 304 but no cached copy to reuse");
  return cached.body;
}

export interface FeedDownload {
  cache: FeedCache;
  dispatcher: Dispatcher;
  maxRedirections: number;
  now: () => number;
}

/**
 * The feed's body: asked conditionally when a cached copy has validators,
 * the cached body on 304. Redirects are followed only within the URL's origin.
 */
export async function downloadFeed(config: HttpSourceConfig, options: FeedDownload): Promise<{ body: string; finalUrl: string }> {
  const fail = feedFail(config);
  const cached = await options.cache.get(config.url);
  const response = await send({
    method: "GET",
    url: config.url,
    headers: { accept: JSON_FORMATS.has(config.format) ? "application/json" : "text/plain", ...conditionalHeaders(cached) },
    timeoutMs: config.timeoutMs,
    maxRedirections: options.maxRedirections,
    dispatcher: options.dispatcher,
    fail: exchangeFailure(config, fail),
  });
  if (response.status === 304) return { body: await reuseCached(response, cached, fail), finalUrl: response.url };
  await refuseUnlessFeed(response, config, fail);
  const body = (await response.read(config.maxBytes)).toString("utf8");
  const validators = { etag: response.header("etag"), lastModified: response.header("last-modified") };
  await options.cache.remember(config.url, body, validators, new Date(options.now()).toISOString());
  return { body, finalUrl: response.url };
}
