import { MASK, redactUrl, urlSecrets } from "../util/url.js";
import type { Config } from "./schema.js";
import type { ResolverAddress } from "../util/resolver.js";

/** A copy of the config that is safe to print or log: URLs redacted, header values hidden. */
export function redactConfig<T>(config: T): T {
  const walk = (value: unknown, path: string[]): unknown => {
    if (typeof value === "string") {
      if (path.includes("headers") || (path[0] === "audit" && path[1] === "key")) return MASK;
      return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !/^(unix|tcp):/.test(value) ? redactUrl(value) : value;
    }
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, String(i)]));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
    }
    return value;
  };
  return walk(config, []) as T;
}

const dohUrls = (resolvers: readonly ResolverAddress[] = []) => resolvers.flatMap((r) => (r.kind === "doh" ? [r.url] : []));

/** Headers that describe the request and never carry a credential. */
const PLAIN_HEADERS: ReadonlySet<string> = new Set([
  "accept",
  "accept-encoding",
  "accept-language",
  "cache-control",
  "content-language",
  "content-type",
  "user-agent",
]);

/**
 * What redaction hides that was written into the config literally, not
 * through `${VAR}`: a peer that echoes its request in an error reply must not
 * bring it back into a message. Every webhook header value (only the
 * credentials after a scheme such as `Bearer`), and the token-like parts of
 * every feed, DNS-over-HTTPS, sink and Pushgateway URL (see `urlSecrets`).
 */
export function literalSecrets(config: Config): string[] {
  const found: string[] = [];
  const urls: string[] = [];
  for (const source of config.sources) {
    if (source.type === "http") urls.push(source.url);
    if (source.type === "dns") urls.push(...dohUrls(source.resolvers));
  }
  urls.push(...dohUrls(config.haproxy.discover?.resolvers));
  for (const sink of config.alerts.sinks) {
    urls.push(sink.url);
    if (sink.type !== "webhook") continue;
    for (const [name, value] of Object.entries(sink.headers ?? {})) {
      if (PLAIN_HEADERS.has(name.toLowerCase())) continue;
      // `Bearer <token>`: the scheme is a plain word, the rest the credential.
      found.push(/^[A-Za-z][A-Za-z0-9_-]*\s+(\S.*)$/.exec(value)?.[1] ?? value);
    }
  }
  if (config.metrics?.pushgateway !== undefined) urls.push(config.metrics.pushgateway);
  return [...found, ...urls.filter((url) => /^https?:\/\//i.test(url)).flatMap(urlSecrets)];
}
