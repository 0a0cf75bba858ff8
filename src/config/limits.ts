import type { Limit } from "../model/guards.js";

const PERCENT = /^(\d+(?:\.\d+)?)%$/;

/** `10` → at most 10 entries; `"25%"` → at most a quarter of the owned set; undefined when malformed. */
export function parseLimit(value: number | string): Limit | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? { count: value } : undefined;
  const match = PERCENT.exec(value);
  return match ? { fraction: Number(match[1]) / 100 } : undefined;
}
