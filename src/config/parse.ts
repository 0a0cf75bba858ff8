import { parseDocument } from "yaml";
import type { z } from "zod";
import type { ConfigIssue } from "../errors.js";
import { type Env, OPTIONAL_EMPTY, substituteEnv } from "./env.js";
import { type Config, type ConfigFile, configSchema } from "./schema.js";

export interface ParsedConfig {
  config?: Config;
  /** The file as validated, defaults filled in, values as written: what `config check` shows. */
  file?: ConfigFile;
  issues: ConfigIssue[];
  /**
   * Values that came from `${VAR}`: secrets, whatever their key. Given with the
   * issues too, as an issue may quote one (a duplicate source name): the caller
   * scrubs what it shows with them.
   */
  secrets?: string[];
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** The value a key path points at in the document, undefined when the key is not there. */
function valueAt(document: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let at: unknown = document;
  for (const key of path) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** What a YAML value is, for "expected …, got …"; a string is not quoted, as it may have come from ${VAR}. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${value}`;
  return typeof value === "string" ? "a string" : "a mapping";
}

function describe(issue: z.core.$ZodIssue, document: unknown): ConfigIssue[] {
  const path = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: path ? `${path}.${key}` : key,
      message: "unknown key (check the spelling: unknown keys are never ignored)",
    }));
  }
  if (issue.code === "invalid_type") {
    // zod does not report the input by default: look it up, so a wrong type is not called missing.
    const value = valueAt(document, issue.path);
    if (value === undefined) return [{ path, message: `required: ${issue.message}` }];
    return [{ path, message: `${issue.message}, got ${kindOf(value)}` }];
  }
  return [{ path, message: issue.message }];
}

/** Rules the schema can not express: cross-field checks and features this version lacks. */
function checkRules(config: Config, document: unknown, issues: ConfigIssue[]): void {
  // The default value is filled in either way: only a value written in the file is a mistake on an ACL.
  if (config.haproxy.kind === "acl" && valueAt(document, ["haproxy", "value"]) !== undefined) {
    issues.push({ path: "haproxy.value", message: "expected no value with kind: acl (ACL entries carry no value; every entry is this tool's)" });
  }
  const seen = new Map<string, number>();
  config.sources.forEach((source, i) => {
    const first = seen.get(source.name);
    if (first !== undefined) issues.push({ path: `sources[${i}].name`, message: `duplicate source name "${source.name}" (also sources[${first}])` });
    seen.set(source.name, i);
    // `key` is read by github-meta (where it is required) and json; other formats ignore it.
    if (source.type === "http" && source.format === "github-meta" && source.key === undefined) {
      issues.push({ path: `sources[${i}].key`, message: "required for format github-meta (e.g. actions or hooks)" });
    }
    if (source.type === "dns") {
      const count = source.resolvers?.length;
      if (count !== undefined && source.quorum > count) {
        issues.push({ path: `sources[${i}].quorum`, message: `expected at most ${count} (the number of resolvers)` });
      }
    }
  });
  config.haproxy.sockets.forEach((socket, i) => {
    const first = config.haproxy.sockets.indexOf(socket);
    if (first !== i) issues.push({ path: `haproxy.sockets[${i}]`, message: `duplicate of haproxy.sockets[${first}]` });
  });
}

/**
 * A sink whose whole URL is `${VAR:-}` is optional: with VAR unset or empty it
 * is left out (a Kubernetes Secret marked optional), instead of failing the config.
 */
function withoutUnsetOptionalSinks(raw: object, env: Env): object {
  const alerts = valueAt(raw, ["alerts"]);
  const sinks: unknown = valueAt(raw, ["alerts", "sinks"]);
  if (alerts === null || typeof alerts !== "object" || !Array.isArray(sinks)) return raw;
  const kept = sinks.filter((sink: unknown) => {
    const url = valueAt(sink, ["url"]);
    if (typeof url !== "string" || !OPTIONAL_EMPTY.test(url)) return true;
    const name = url.slice(2, url.indexOf(":-"));
    return (env[name] ?? "") !== "";
  });
  return { ...raw, alerts: { ...alerts, sinks: kept } };
}

export interface ParseOptions {
  /** The clock the schedule's period is read from (its answer does not depend on it, its work does). */
  now?: () => Date;
}

/** Parses YAML or JSON config text; reports every problem at once, each with its key path. */
export function parseConfig(text: string, env: Env = process.env, options: ParseOptions = {}): ParsedConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return {
      issues: document.errors.map((e) => {
        const at = e.linePos?.[0];
        // The message's own " at line L, column C:" suffix is said in the path instead.
        const message = (e.message.split("\n")[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, "");
        return { path: at ? `(line ${at.line}, column ${at.col})` : "(document)", message };
      }),
    };
  }
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { issues: [{ path: "(document)", message: `not a usable YAML document: ${(err as Error).message.split("\n")[0]}` }] };
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { issues: [{ path: "", message: "expected a mapping with sources and haproxy" }] };
  }
  const issues: ConfigIssue[] = [];
  const secrets = new Set<string>();
  const substituted = substituteEnv(withoutUnsetOptionalSinks(raw, env), env, issues, "", [], secrets);
  const result = configSchema((options.now ?? (() => new Date()))()).safeParse(substituted);
  if (!result.success) {
    issues.push(...result.error.issues.flatMap((issue) => describe(issue, substituted)));
    return { issues, secrets: [...secrets] };
  }
  const { config, file } = result.data;
  checkRules(config, substituted, issues);
  if (issues.length > 0) return { issues, secrets: [...secrets] };
  return { config, file, issues, secrets: [...secrets] };
}
