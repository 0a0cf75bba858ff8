import { describe, expect, it } from "vitest";
import { renderDenialsText } from "../../../src/cli/render/denials.js";
import type { DenialsReport, TableSummary } from "../../../src/model/denials.js";

const TARGET = "unix:///run/haproxy/admin.sock";
const table = (over: Partial<TableSummary> = {}): TableSummary => ({
  target: TARGET,
  table: "st_denied",
  entries: 3,
  truncated: false,
  skipped: 0,
  error: null,
  ...over,
});
const report = (over: Partial<DenialsReport> = {}): DenialsReport => ({ version: 1, denials: [], tables: [table()], error: null, outcome: "clear", ...over });

describe("renderDenialsText", () => {
  it("says so when no client was denied, and leaves a table read whole to the JSON result", () => {
    expect(renderDenialsText(report())).toBe("No denied clients.\n");
  });

  it("names a table with entries that are no address, or not read whole", () => {
    const text = renderDenialsText(report({ tables: [table({ skipped: 2, truncated: true })] }));
    expect(text).toContain(`${TARGET}: table st_denied, 3 entries: 2 entries skipped (not an address); truncated: the table is full`);
  });

  it("names a table that was not read, with its code", () => {
    const error = { code: "E_HAPROXY_TABLE_UNKNOWN" as const, message: "no stick table st_denied: it has no stick tables" };
    const text = renderDenialsText(report({ tables: [table({ entries: 0, error })], outcome: "unknown" }));
    expect(text).toBe(`No denied clients.\n${TARGET}: table st_denied not read (E_HAPROXY_TABLE_UNKNOWN: no stick table st_denied: it has no stick tables)\n`);
  });
});
