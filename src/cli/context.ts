import type { Logger, LevelWithSilent } from "pino";
import { configPath, loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import type { ConfigIssue } from "../errors.js";
import { createLogger } from "./logger.js";

export interface GlobalOptions {
  config?: string;
  output: "text" | "json";
  logLevel: LevelWithSilent;
}

export interface Io {
  stdout: (text: string) => Promise<void>;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

export interface Context {
  config: Config;
  configPath: string;
  warnings: ConfigIssue[];
  logger: Logger;
}

/** Loads the config and a logger; every command that needs a config starts here. */
export async function loadContext(options: GlobalOptions, io: Io): Promise<Context> {
  const logger = await createLogger(options.logLevel);
  const path = configPath(options.config, io.env);
  const { config, warnings } = await loadConfig(path, io.env);
  for (const warning of warnings) logger.warn({ key: warning.path }, `config ${warning.path}: ${warning.message}`);
  return { config, configPath: path, warnings, logger };
}
