import type { ConfigIssue } from "../errors.js";

export type Env = Record<string, string | undefined>;

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}/g;

/** A value that is only an optional reference with an empty default: `${SLACK_WEBHOOK_URL:-}`. */
export const OPTIONAL_EMPTY = /^\$\{[A-Za-z_][A-Za-z0-9_]*:-\}$/;

/**
 * Replaces `${VAR}` inside string values of a parsed document (never in the
 * raw text, so a variable can not add keys or structure). `${VAR:-default}`
 * uses the default when VAR is unset or empty; `$$` is a literal `$`.
 */
export function substituteEnv(value: unknown, env: Env, issues: ConfigIssue[], path = "", ancestors: object[] = [], secrets: Set<string> = new Set()): unknown {
  if (typeof value === "string") {
    return value.replace(REFERENCE, (match, name: string | undefined, hasDefault: string | undefined, fallback: string | undefined) => {
      if (name === undefined) return "$";
      const found = env[name];
      if (hasDefault !== undefined && (found === undefined || found === "")) return fallback ?? "";
      if (found === undefined) {
        issues.push({ path, message: `environment variable ${name} is not set` });
        return match;
      }
      // Whatever came from the environment is treated as a secret.
      secrets.add(found);
      return found;
    });
  }
  if (value === null || typeof value !== "object") return value;
  if (ancestors.includes(value)) {
    // A YAML alias that contains itself: there is no finite config to read.
    issues.push({ path, message: "a YAML alias refers to the value that contains it" });
    return undefined;
  }
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    return value.map((item, i) => substituteEnv(item, env, issues, `${path}[${i}]`, inner, secrets));
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, issues, path ? `${path}.${key}` : key, inner, secrets)]));
}
