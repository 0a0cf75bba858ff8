import type { Dispatcher } from "undici";
import { agentOnFirstUse } from "../http/agent.js";
import { isAddressText, parseCidr } from "../model/cidr.js";
import type { Scrubber } from "../util/secrets.js";
import { redactUrl } from "../util/url.js";
import { FeedCache } from "./http-cache.js";
import { downloadFeed, type FeedFail, feedFail, type HttpSourceConfig } from "./http-fetch.js";
import { parseFeed } from "./formats.js";
import type { RawValues, Source, SourceResult } from "./types.js";

export interface HttpSourceOptions {
  stateDir: string;
  /** Undici dispatcher (tests point it at loopback or give it a CA); redirects are followed on top of it. */
  dispatcher?: Dispatcher;
  maxRedirections?: number;
  now?: () => number;
  /** Keeps the config's secrets out of the feed cache and the feed text an error quotes. */
  scrubber: Scrubber;
}

const DEFAULT_MAX_REDIRECTIONS = 3;

/** The feed's values, under the URL they came from; one value that is not an address refuses the whole feed. */
function feedValues(config: HttpSourceConfig, body: string, finalUrl: string, fail: FeedFail, scrubber: Scrubber): RawValues {
  const values = parseFeed(config.format, body, config.key, { source: config.name, url: redactUrl(config.url), scrubber });
  const bad = values.find((v) => !isAddressText(v));
  if (bad !== undefined) {
    const parsed = parseCidr(bad, { lenient: true });
    const reason = parsed.ok ? "characters that are not part of an address" : parsed.reason;
    throw fail("E_SOURCE_HTTP_BAD_ENTRY", `${JSON.stringify(scrubber.start(bad, 80))} is not an address or CIDR (${reason}); the whole feed is refused`);
  }
  return { provenance: { source: config.name, url: redactUrl(finalUrl) }, values };
}

export function httpSource(config: HttpSourceConfig, options: HttpSourceOptions): Source {
  const now = options.now ?? Date.now;
  const cache = new FeedCache(options.stateDir, options.scrubber);
  // One dispatcher per source for the life of the process: a daemon reuses its connections.
  const given = options.dispatcher;
  const dispatcher = given ? () => Promise.resolve(given) : agentOnFirstUse(config.timeoutMs);
  const maxRedirections = options.maxRedirections ?? DEFAULT_MAX_REDIRECTIONS;
  return {
    name: config.name,
    type: "http",
    async fetch(): Promise<SourceResult> {
      const started = now();
      const { body, finalUrl } = await downloadFeed(config, { cache, dispatcher: await dispatcher(), maxRedirections, now });
      const published = [feedValues(config, body, finalUrl, feedFail(config), options.scrubber)];
      return { name: config.name, type: "http", published, durationMs: now() - started };
    },
  };
}
