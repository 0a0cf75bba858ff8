import type { Logger, LevelWithSilent } from "pino";
import { configPath, loadConfig } from "../config/load.js";
import type { Config, ConfigFile } from "../config/schema.js";
import type { Scrubber } from "../util/secrets.js";
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
  /** What scrubs stdout and stderr: the config's secrets are added to it as soon as the config is read. */
  scrubber: Scrubber;
}

export interface Context {
  config: Config;
  /** The file as validated, defaults filled in: what `config check` shows. */
  file: ConfigFile;
  configPath: string;
  logger: Logger;
  /** The one scrubber of this process, knowing the config's secrets: for every adapter that writes output. */
  scrubber: Scrubber;
}

/** Loads the config and a logger; every command that needs a config starts here. */
export async function loadContext(options: GlobalOptions, io: Io, logging: LoggerOptions = {}): Promise<Context> {
  const logger = await createLogger(options.logLevel, io.scrubber, logging);
  const path = configPath(options.config, io.env);
  const { config, file, secrets } = await loadConfig(path, io.env, { now: io.now });
  io.scrubber.add(secrets);
  return { config, file, configPath: path, logger, scrubber: io.scrubber };
}
