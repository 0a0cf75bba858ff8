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
export function terminalProgress(stream: TerminalStream, minimum = 4): ((event: ProgressEvent) => void) | undefined {
  if (!stream.isTTY) return undefined;
  return (event) => {
    if (event.total < minimum) return;
    const end = event.done === event.total;
    stream.write(`\r\x1b[2K${WORDS[event.phase]} ${event.done}/${event.total} instances${end ? "\n" : ""}`);
  };
}
