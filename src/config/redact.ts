const REDACTED = "[redacted]";

/** Hides credentials in a URL (user:pass@, query string) while keeping it recognisable. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.username || url.password) {
      url.username = REDACTED;
      url.password = "";
    }
    if (url.search) url.search = `?${REDACTED}`;
    return url.toString();
  } catch {
    return text;
  }
}

/** A copy of the config that is safe to print or log: alert URLs and headers hidden, URL credentials removed. */
export function redactConfig<T>(config: T): T {
  const walk = (value: unknown, path: string[]): unknown => {
    const key = path[path.length - 1] ?? "";
    const inSinks = path.includes("sinks");
    if (typeof value === "string") {
      if (inSinks && (key === "url" || path.includes("headers"))) return REDACTED;
      return /^[a-z]+:\/\//i.test(value) ? redactUrl(value) : value;
    }
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, String(i)]));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
    }
    return value;
  };
  return walk(config, []) as T;
}
