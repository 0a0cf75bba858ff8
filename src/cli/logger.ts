import { isatty } from "node:tty";
import { pino, type Logger, type LevelWithSilent } from "pino";
import { printableJsonLine } from "../util/printable.js";
import { scrubSecrets } from "../util/secrets.js";
import { syncDestination } from "./sync-destination.js";

/** Logs go to stderr as JSON lines (pretty on a terminal), synchronously so nothing is lost on exit. */
export async function createLogger(level: LevelWithSilent, fd = 2): Promise<Logger> {
  const options = {
    level,
    base: { name: "travis-allowlist" },
    redact: {
      paths: ["*.headers.*", "headers.*", "*.password", "*.token", "config.alerts.sinks[*].url"],
      censor: "[redacted]",
    },
    // Values from ${VAR} are scrubbed from every line, wherever they ended up (an error message, a URL, a sink's reply).
    hooks: { streamWrite: (line: string) => printableJsonLine(scrubSecrets(line)) },
  };
  if (isatty(fd)) {
    const { default: pretty } = await import("pino-pretty");
    return pino(options, pretty({ destination: fd, sync: true, colorize: true }));
  }
  return pino(options, syncDestination(fd));
}
