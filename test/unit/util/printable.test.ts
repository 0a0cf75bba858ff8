import { describe, expect, it } from "vitest";
import { printable, printableJsonLine } from "../../../src/util/printable.js";

describe("printable", () => {
  it.each([
    ["an ANSI clear-screen", "reply: \u001b[2J\u001b[H owned", "reply: \\x1b[2J\\x1b[H owned"],
    ["a bell and a carriage return", "a\u0007b\rc", "a\\x07b\\x0dc"],
    ["a C1 control", "x\u009by", "x\\x9by"],
    ["newlines and tabs stay", "line one\n\tline two", "line one\n\tline two"],
  ])("%s", (_name, text, expected) => {
    expect(printable(text)).toBe(expected);
  });

  it("keeps a JSON log line valid while disarming escaped controls for a pretty printer", () => {
    const line = JSON.stringify({ msg: "sink said \u001b[31mred\u001b[0m\n" });
    const safe = printableJsonLine(line);
    expect(JSON.parse(safe)).toEqual({ msg: "sink said \\x1b[31mred\\x1b[0m\n" });
  });
});
