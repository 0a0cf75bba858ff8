import { writeSync } from "node:fs";
import { isatty } from "node:tty";
import type { ProgressEvent } from "../reconcile/deps.js";

interface TerminalStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

const WORDS: Record<ProgressEvent["phase"], string> = { read: "read", apply: "applied" };

/**
 * A one-line progress report for long work, redrawn in place; only on a
 * terminal, and only once there is more than a handful of instances.
 */
/** Progress on stderr, written to the descriptor directly (see the logger for why). */
export function stderrProgress(): ((event: ProgressEvent) => void) | undefined {
  return terminalProgress({ isTTY: isatty(2), write: (text) => writeSync(2, text) });
}

export function terminalProgress(stream: TerminalStream, minimum = 4): ((event: ProgressEvent) => void) | undefined {
  if (!stream.isTTY) return undefined;
  return (event) => {
    if (event.total < minimum) return;
    const end = event.done === event.total;
    stream.write(`\r\x1b[2K${WORDS[event.phase]} ${event.done}/${event.total} instances${end ? "\n" : ""}`);
  };
}
