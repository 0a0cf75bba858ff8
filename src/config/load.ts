import { readFile } from "node:fs/promises";
import { ConfigError } from "../errors.js";
import type { Env } from "./env.js";
import { type ParseOptions, type ParsedConfig, parseConfig } from "./parse.js";
import { literalSecrets } from "./redact.js";
import { Scrubber } from "../util/secrets.js";

export const DEFAULT_CONFIG_FILE = "./travis-allowlist.yaml";

export function configPath(explicit: string | undefined, env: Env): string {
  return explicit ?? env.TRAVIS_ALLOWLIST_CONFIG ?? DEFAULT_CONFIG_FILE;
}

/**
 * Reads and validates a config file; throws ConfigError naming every bad key.
 * The secrets it returns (every `${VAR}` value and literal credential) are for
 * the caller's scrubber.
 */
export async function loadConfig(
  path: string,
  env: Env = process.env,
  options: ParseOptions = {},
): Promise<Required<Pick<ParsedConfig, "config" | "file" | "secrets">> & ParsedConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === "ENOENT"
        ? `file not found (give the file with --config FILE or TRAVIS_ALLOWLIST_CONFIG; the default is ${DEFAULT_CONFIG_FILE})`
        : (err as Error).message;
    throw new ConfigError([{ path: "", message: `cannot read config: ${reason}` }], path);
  }
  const parsed = parseConfig(text, env, options);
  const secrets = parsed.secrets ?? [];
  if (!parsed.config || !parsed.file) {
    // An issue may quote a value that came from ${VAR} (a duplicate source name): it is scrubbed before anyone shows it.
    const scrubber = new Scrubber(secrets);
    throw new ConfigError(
      parsed.issues.map((issue) => ({ path: scrubber.text(issue.path), message: scrubber.text(issue.message) })),
      path,
    );
  }
  // Literal credentials too: what redaction hides may come back in a peer's echo.
  return { ...parsed, config: parsed.config, file: parsed.file, secrets: [...secrets, ...literalSecrets(parsed.config)] };
}
