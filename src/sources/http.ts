import type { Dispatcher } from "undici";
import type { Config } from "../config/schema.js";
import { redactUrl } from "../util/url.js";
import { withBasicAuth } from "../util/url.js";
import { type ErrorCode, SourceError } from "../errors.js";
import { isAddressText, parseCidr } from "../model/cidr.js";
import { readLimited } from "../util/body.js";
import { scrubbedStart } from "../util/secrets.js";
import { FeedCache } from "./http-cache.js";
import { JSON_FORMATS, parseFeed } from "./formats.js";
import type { Source, SourceResult } from "./types.js";

type HttpSourceConfig = Extract<Config["sources"][number], { type: "http" }>;

export interface HttpSourceOptions {
  stateDir: string;
  /** Undici dispatcher (tests point it at loopback or give it a CA); redirects are followed on top of it. */
  dispatcher?: Dispatcher;
  maxRedirections?: number;
  now?: () => number;
}

const DEFAULT_MAX_REDIRECTIONS = 3;

function header(headers: Dispatcher.ResponseData["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function httpSource(config: HttpSourceConfig, options: HttpSourceOptions): Source {
  const now = options.now ?? Date.now;
  const shownUrl = redactUrl(config.url);
  const cache = new FeedCache(options.stateDir);
  // undici is loaded on the first fetch, so configs without feeds never load it.
  let dispatcher: Dispatcher | undefined;
  const client = async () => {
    const undici = await import("undici");
    // One dispatcher per source for the life of the process: a daemon reuses its connections.
    dispatcher ??=
      options.dispatcher ?? new undici.Agent({ connectTimeout: config.timeoutMs, headersTimeout: config.timeoutMs, bodyTimeout: config.timeoutMs });
    return { request: undici.request, dispatcher };
  };
  const fail = (code: ErrorCode, message: string, cause?: unknown) => new SourceError(code, config.name, `${shownUrl}: ${message}`, { cause });

  /**
   * Redirects are followed by hand: only within the configured URL's origin
   * (so never to another host, and never from https to http), and all of it
   * within one `timeoutMs`.
   */
  async function fetchBody(): Promise<{ body: string; finalUrl: string }> {
    const cached = await cache.get(config.url);
    const conditional: Record<string, string> = {};
    if (cached?.etag) conditional["if-none-match"] = cached.etag;
    if (cached?.lastModified) conditional["if-modified-since"] = cached.lastModified;
    const { request, dispatcher } = await client();
    const signal = AbortSignal.timeout(config.timeoutMs);
    // Credentials in the URL go as Basic auth (undici would drop them), also to redirects within the origin.
    const { url: start, authorization } = withBasicAuth(config.url);
    const origin = new URL(start).origin;
    const maxRedirections = options.maxRedirections ?? DEFAULT_MAX_REDIRECTIONS;
    let url = start;
    let response: Dispatcher.ResponseData;
    for (let redirects = 0; ; redirects++) {
      try {
        response = await request(url, {
          method: "GET",
          headers: {
            accept: JSON_FORMATS.has(config.format) ? "application/json" : "text/plain",
            "user-agent": "travis-allowlist",
            ...(authorization === undefined ? {} : { authorization }),
            ...conditional,
          },
          signal,
          dispatcher,
        });
      } catch (err) {
        const name = (err as Error).name;
        if (name === "TimeoutError" || name === "AbortError") throw fail("E_SOURCE_HTTP_TIMEOUT", `no answer within ${config.timeoutMs} ms`, err);
        throw fail("E_SOURCE_HTTP_NETWORK", `request failed (${(err as NodeJS.ErrnoException).code ?? name})`, err);
      }
      const location = header(response.headers, "location");
      if (response.statusCode < 300 || response.statusCode >= 400 || response.statusCode === 304 || !location) break;
      await response.body.dump();
      if (redirects >= maxRedirections) throw fail("E_SOURCE_HTTP_REDIRECT", `HTTP ${response.statusCode}: too many redirects (more than ${maxRedirections})`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch (err) {
        throw fail("E_SOURCE_HTTP_REDIRECT", `HTTP ${response.statusCode} to an invalid location`, err);
      }
      if (next.origin !== origin) {
        throw fail("E_SOURCE_HTTP_REDIRECT", `HTTP ${response.statusCode} to another origin (${redactUrl(next.href)}): refused, only ${origin} is trusted`);
      }
      url = next.href;
    }
    if (response.statusCode === 304) {
      await response.body.dump();
      if (!cached) throw fail("E_SOURCE_HTTP_STATUS", "HTTP 304 but no cached copy to reuse");
      return { body: cached.body, finalUrl: url };
    }
    if (response.statusCode >= 300 && response.statusCode < 400) {
      await response.body.dump();
      throw fail("E_SOURCE_HTTP_REDIRECT", `HTTP ${response.statusCode} without a location`);
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw fail("E_SOURCE_HTTP_STATUS", `HTTP ${response.statusCode}, expected 200`);
    }
    const contentType = header(response.headers, "content-type") ?? "";
    if (/text\/html/i.test(contentType)) {
      await response.body.dump();
      throw fail("E_SOURCE_HTTP_HTML", `got an HTML page (${contentType}), not a feed`);
    }
    if (JSON_FORMATS.has(config.format) && !/^application\/([a-z.+-]*\+)?json/i.test(contentType)) {
      await response.body.dump();
      throw fail("E_SOURCE_HTTP_CONTENT_TYPE", `content type ${contentType || "(none)"}, expected application/json for format ${config.format}`);
    }
    let body: string | undefined;
    try {
      body = (await readLimited(response.body, config.maxBytes))?.toString("utf8");
    } catch (err) {
      const name = (err as Error).name;
      if (name === "TimeoutError" || name === "AbortError" || (err as NodeJS.ErrnoException).code === "UND_ERR_BODY_TIMEOUT") {
        throw fail("E_SOURCE_HTTP_TIMEOUT", `body not complete within ${config.timeoutMs} ms`, err);
      }
      throw fail("E_SOURCE_HTTP_TRUNCATED", `the body was cut off (${(err as NodeJS.ErrnoException).code ?? name})`, err);
    }
    if (body === undefined) throw fail("E_SOURCE_HTTP_TOO_LARGE", `body larger than ${config.maxBytes} bytes`);
    const etag = header(response.headers, "etag");
    const lastModified = header(response.headers, "last-modified");
    if (etag || lastModified) {
      // The cache only saves a download next time: a state directory this run may not write
      // (a dry run on the scheduled job's state, mounted read-only) must not fail the source.
      await cache
        .put(config.url, { body, savedAt: new Date(now()).toISOString(), ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) })
        .catch(() => undefined);
    }
    return { body, finalUrl: url };
  }

  return {
    name: config.name,
    type: "http",
    async fetch(): Promise<SourceResult> {
      const started = now();
      const { body, finalUrl } = await fetchBody();
      const shownFinal = redactUrl(finalUrl);
      const values = parseFeed(config.format, body, config.key, { source: config.name, url: shownUrl });
      const bad = values.find((v) => !isAddressText(v));
      if (bad !== undefined) {
        const parsed = parseCidr(bad, { lenient: true });
        const reason = parsed.ok ? "characters that are not part of an address" : parsed.reason;
        throw fail("E_SOURCE_HTTP_BAD_ENTRY", `${JSON.stringify(scrubbedStart(bad, 80))} is not an address or CIDR (${reason}); the whole feed is refused`);
      }
      return {
        name: config.name,
        type: "http",
        entries: values.map((value) => ({ value, provenance: { source: config.name, url: shownFinal } })),
        durationMs: now() - started,
      };
    },
  };
}
