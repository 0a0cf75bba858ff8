import type { Dispatcher } from "undici";
import type { Scrubber } from "../util/secrets.js";
import type { Config, SourceConfig } from "../config/schema.js";
import { type DnsSourceOptions, dnsSource } from "./dns.js";
import { httpSource } from "./http.js";
import { staticSource } from "./static.js";
import type { Source } from "./types.js";

export interface SourceOptions extends DnsSourceOptions {
  /** Where feed caches live. */
  stateDir: string;
  dispatcher?: Dispatcher;
  /** Keeps the config's secrets out of feed caches and the feed text errors quote. */
  scrubber: Scrubber;
}

export function buildSource(config: SourceConfig, options: SourceOptions): Source {
  switch (config.type) {
    case "dns":
      return dnsSource(config, options);
    case "static":
      return staticSource(config);
    case "http":
      return httpSource(config, options);
  }
}

/** Every configured source, with the real defaults unless tests give other seams. */
export function buildSources(config: Config, options: SourceOptions): Source[] {
  return config.sources.map((source) => buildSource(source, options));
}
