import { describe, expect, it } from "vitest";
import { DENIALS_SHOWN, denialsJson, renderDenialsText, shownDenials } from "../../../src/cli/render/denials.js";
import type { Denial, DenialsReport, TableSummary } from "../../../src/model/denials.js";

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
const denial = (n: number, over: Partial<Denial> = {}): Denial => ({
  address: `10.0.${n >> 8}.${n & 255}`,
  requests: 1000 - n,
  lastSeen: "2026-11-29T03:34:27.314Z",
  reason: "unpublished",
  detail: "no source publishes it and this tool never admitted it; not live on any of 1 instances",
  runId: null,
  instances: [{ target: TARGET, requests: 1000 - n, lastSeen: "2026-11-29T03:34:27.314Z", admitted: false }],
  current: true,
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

  it("shows the most urgent denials of a large table and counts the rest, with the published ones among them", () => {
    const denials = Array.from({ length: DENIALS_SHOWN + 50 }, (_, n) => denial(n, n >= DENIALS_SHOWN + 40 ? { reason: "stale" } : {}));
    const lines = renderDenialsText(report({ denials })).trimEnd().split("\n");
    expect(lines).toHaveLength(2 * DENIALS_SHOWN + 1);
    expect(lines[0]).toMatch(/^10\.0\.0\.0 /);
    expect(lines.at(-3)).toMatch(new RegExp(`^10\\.0\\.0\\.${DENIALS_SHOWN - 1} `));
    expect(lines.at(-1)).toBe("… and 50 more denied clients, 10 of them published and still denied: --output json lists every one");
  });

  it("shows every denial of a table that fits, with no count of the rest", () => {
    const text = renderDenialsText(report({ denials: Array.from({ length: DENIALS_SHOWN }, (_, n) => denial(n)) }));
    expect(text.trimEnd().split("\n")).toHaveLength(2 * DENIALS_SHOWN);
    expect(text).not.toContain("more denied clients");
  });
});

describe("denialsJson", () => {
  const shown = (denials: Denial[]) => shownDenials(report({ denials, error: { code: "E_SOURCE_DNS_TIMEOUT", message: "x" } }), { detailedExitcode: true });

  it.each([0, 1, 199, 200, 201, 450])("writes the report with %i denials exactly as JSON.stringify would", (count) => {
    const whole = shown(Array.from({ length: count }, (_, n) => denial(n)));
    expect([...denialsJson(whole)].join("")).toBe(`${JSON.stringify(whole, null, 2)}\n`);
  });

  it("writes a large report in pieces, none of them the whole", () => {
    const whole = shown(Array.from({ length: 1000 }, (_, n) => denial(n)));
    const pieces = [...denialsJson(whole)];
    const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
    expect(Math.max(...pieces.map((piece) => piece.length))).toBeLessThan(total / 4);
  });
});
