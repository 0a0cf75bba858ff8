import { describe, expect, it } from "vitest";
import { terminalProgress } from "../../../src/cli/progress.js";

function stream(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, written, write: (text: string) => written.push(text) };
}

describe("terminalProgress", () => {
  it("draws one line in place on a terminal and ends it when done", () => {
    const s = stream(true);
    const report = terminalProgress(s);
    for (let done = 1; done <= 5; done++) report?.({ phase: "apply", done, total: 5 });
    expect(s.written).toHaveLength(5);
    expect(s.written[0]).toBe("\r\x1b[2Kapplied 1/5 instances");
    expect(s.written[4]).toBe("\r\x1b[2Kapplied 5/5 instances\n");
  });

  it("says nothing when the output is not a terminal", () => {
    expect(terminalProgress(stream(false))).toBeUndefined();
  });

  it("says nothing for a handful of instances", () => {
    const s = stream(true);
    terminalProgress(s)?.({ phase: "read", done: 1, total: 2 });
    expect(s.written).toEqual([]);
  });
});
