import { isatty } from "node:tty";
import { pino, type Logger, type LevelWithSilent } from "pino";
import { printableJsonLine } from "../util/printable.js";
import type { Scrubber } from "../util/secrets.js";
import { withoutAdvice } from "./guard-advice.js";
import { syncDestination } from "./sync-destination.js";

export interface LoggerOptions {
  fd?: number;
  /** The command prints a result on stdout (every command but the daemon): on a terminal, lines that repeat it are left out. */
  resultOnStdout?: boolean;
}

/** Logs go to stderr as JSON lines (pretty on a terminal), synchronously so nothing is lost on exit. */
export async function createLogger(level: LevelWithSilent, scrubber: Scrubber, { fd = 2, resultOnStdout = true }: LoggerOptions = {}): Promise<Logger> {
  const options = {
    level,
    base: { name: "travis-allowlist" },
    redact: {
      paths: ["*.headers.*", "headers.*", "*.password", "*.token", "config.alerts.sinks[*].url"],
      censor: "[redacted]",
    },
    // Values from ${VAR} are scrubbed from every line, wherever they ended up (an error message, a URL, a sink's reply).
    hooks: { streamWrite: (line: string) => printableJsonLine(scrubber.text(line)) },
  };
  if (isatty(fd)) {
    const { default: pretty } = await import("pino-pretty");
    const verbose = level === "debug" || level === "trace";
    // The daemon prints no result: its log is all a person at its terminal gets.
    const whole = verbose || !resultOnStdout;
    const terminal = { ...options, hooks: { streamWrite: (line: string) => forTerminal(options.hooks.streamWrite(line), whole) } };
    // One line per message, without what only a log store needs.
    const display = verbose ? {} : { singleLine: true, ignore: "pid,hostname,name,runId" };
    return pino(terminal, pretty({ destination: fd, sync: true, colorize: true, ...display }));
  }
  return pino(options, syncDestination(fd));
}

/**
 * A person at a terminal reads the result on stdout: below debug, the audit
 * records and the run summary (kept for log stores, which read JSON) only
 * bury it, and an error is one line with its code, not a block with a stack
 * trace. JSON logs to anything but a terminal are left whole.
 */
function forTerminal(line: string, whole: boolean): string {
  if (whole) return line;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (entry === null || typeof entry !== "object") return line;
  // The run summary and what the result shows anyway are the result on stdout, said again for log stores.
  if (("audit" in entry && entry.audit === true) || ("event" in entry && entry.event === "run-summary")) return "";
  if ("inResult" in entry && entry.inResult === true) return "";
  // The guards' trips are in the result, with the advice to approve them said once.
  Reflect.deleteProperty(entry, "trips");
  Reflect.deleteProperty(entry, "overridden");
  if ("msg" in entry && typeof entry.msg === "string") Reflect.set(entry, "msg", withoutAdvice(entry.msg));
  if ("err" in entry && entry.err !== null && typeof entry.err === "object") {
    const { code, message } = entry.err as { code?: unknown; message?: unknown };
    const said = "msg" in entry && typeof entry.msg === "string" ? `${entry.msg}: ` : "";
    Reflect.deleteProperty(entry, "err");
    Reflect.set(entry, "msg", `${said}${typeof code === "string" ? `${code}: ` : ""}${String(message)}`);
  }
  return `${JSON.stringify(entry)}\n`;
}
