import { describe, expect, it } from "vitest";
import { parseSoftOpenFiles, probeConnectionCap } from "../../../src/daemon/connection-cap.js";

const LIMITS = (openFiles: string) =>
  [
    "Limit                     Soft Limit           Hard Limit           Units     ",
    "Max cpu time              unlimited            unlimited            seconds   ",
    `Max open files            ${openFiles}            files     `,
    "Max locked memory         8388608              8388608              bytes     ",
  ].join("\n");

describe("parseSoftOpenFiles", () => {
  it.each([
    ["soft below hard", LIMITS("1024                 1048576"), 1024],
    ["soft equal to hard", LIMITS("20000                20000"), 20000],
    ["unlimited", LIMITS("unlimited            unlimited"), Infinity],
    ["no such line (not Linux, or /proc unreadable)", "", undefined],
    ["a garbled line", LIMITS("lots                 lots"), undefined],
  ])("%s", (_, text, expected) => {
    expect(parseSoftOpenFiles(text)).toBe(expected);
  });
});

describe("probeConnectionCap", () => {
  it.each([
    [1024, 256],
    [20_000, 256],
    [Infinity, 256],
    [512, 128],
    [100, 25],
    [16, 8],
  ])("soft limit %d: at most %d connections", (soft, cap) => {
    expect(probeConnectionCap(soft)).toBe(cap);
  });

  it("leaves the runs at least three quarters of any limit of 32 descriptors or more", () => {
    for (let soft = 32; soft <= 4096; soft++) expect(soft - probeConnectionCap(soft)).toBeGreaterThanOrEqual((soft * 3) / 4);
  });
});
