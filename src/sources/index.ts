import type { SourceConfig } from "../config/schema.js";
import { type DnsSourceOptions, dnsSource } from "./dns.js";
import { staticSource } from "./static.js";
import type { Source } from "./types.js";

export type SourceOptions = DnsSourceOptions;

export function buildSource(config: SourceConfig, options: SourceOptions = {}): Source {
  switch (config.type) {
    case "dns":
      return dnsSource(config, options);
    case "static":
      return staticSource(config);
    case "http":
      // parseConfig refuses http sources until the feed fetcher exists.
      throw new Error(`source ${config.name}: type http is not supported by this version`);
  }
}
