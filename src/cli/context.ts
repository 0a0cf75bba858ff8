import type { Logger, LevelWithSilent } from "pino";
import { configPath, loadConfig } from "../config/load.js";
import type { Config, ConfigFile } from "../config/schema.js";
import { createLogger, type LoggerOptions } from "./logger.js";

export interface GlobalOptions {
  config?: string;
  output: "text" | "json";
  logLevel: LevelWithSilent;
}

export interface Io {
  stdout: (text: string) => Promise<void>;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** The wall clock; injected so that nothing a command computes depends on when a test runs. */
  now: () => Date;
}

export interface Context {
  config: Config;
  /** The file as validated, defaults filled in: what `config check` shows. */
  file: ConfigFile;
  configPath: string;
  logger: Logger;
}

/** Loads the config and a logger; every command that needs a config starts here. */
export async function loadContext(options: GlobalOptions, io: Io, logging: LoggerOptions = {}): Promise<Context> {
  const logger = await createLogger(options.logLevel, logging);
  const path = configPath(options.config, io.env);
  const { config, file } = await loadConfig(path, io.env, { now: io.now });
  return { config, file, configPath: path, logger };
}
