import { mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import type { AuditRecord } from "../../src/audit/record.js";
import { liveEntries, type RunningHaproxy } from "./haproxy.js";

/** `npm run test:reliability` sets TA_RELIABILITY=full; the default suite runs a bounded version. */
export const FULL = process.env.TA_RELIABILITY === "full";

export function rounds(bounded: number, full: number): number {
  return FULL ? full : bounded;
}

const REPORT_DIR = fileURLToPath(new URL("../../reports/reliability/", import.meta.url));

/** A figure for the README's reliability table, one file per figure. */
export function recordFigure(name: string, value: number | string): void {
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(`${REPORT_DIR}${name}.json`, JSON.stringify({ name, value, full: FULL, at: new Date().toISOString() }));
}

/** Invariant 3: the live list is exactly the old entries or exactly the complete new set. */
export async function expectOldOrNew(h: RunningHaproxy, old: string[], next: string[]): Promise<"old" | "new"> {
  const live = await liveEntries(h);
  const sorted = (list: string[]) => [...list].sort();
  if (JSON.stringify(live) === JSON.stringify(sorted(old))) return "old";
  expect(live).toEqual(sorted(next));
  return "new";
}

export async function auditEvents(path: string): Promise<string[]> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => (JSON.parse(l) as AuditRecord).event);
}
