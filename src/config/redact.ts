import { MASK, redactUrl } from "../util/url.js";

export { redactUrl } from "../util/url.js";

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
