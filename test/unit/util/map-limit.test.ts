import { describe, expect, it } from "vitest";
import { mapLimit } from "../../../src/util/map-limit.js";

describe("mapLimit", () => {
  it.each([1, 3, 8])("never runs more than %d at once and keeps the order", async (limit) => {
    let running = 0;
    let peak = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    const results = await mapLimit(items, limit, async (item) => {
      running++;
      peak = Math.max(peak, running);
      // Uneven durations are the point: calls finish out of order, and the results must not.
      await new Promise((r) => setTimeout(r, (item % 3) * 2));
      running--;
      return item * 10;
    });
    expect(results).toEqual(items.map((i) => i * 10));
    expect(peak).toBe(limit);
  });

  it("handles an empty list", async () => {
    expect(await mapLimit([], 8, () => Promise.resolve(1))).toEqual([]);
  });
});
