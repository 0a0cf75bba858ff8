const MASK = "***";

/**
 * Keeps a URL recognisable while hiding what may be a secret: credentials,
 * every path segment after the first, and the query.
 * `https://hooks.slack.com/services/T0/B0/x` → `https://hooks.slack.com/services/***`.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return MASK;
  }
  const credentials = url.username || url.password ? `${MASK}@` : "";
  const segments = url.pathname.split("/").filter((s) => s !== "");
  const first = segments.length > 0 ? `/${segments[0]}` : "";
  const hidden = segments.length > 1 || url.search !== "" || url.hash !== "" ? `/${MASK}` : "";
  return `${url.protocol}//${credentials}${url.host}${first}${hidden}`;
}

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
