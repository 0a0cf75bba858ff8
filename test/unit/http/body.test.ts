import { describe, expect, it } from "vitest";
import { type ReadableBody, readStart, readWhole } from "../../../src/http/body.js";

/** A body of `count` chunks of `size` bytes that records how many were pulled and whether it was destroyed. */
function body(count: number, size: number): ReadableBody & { pulled: number; destroyed: boolean } {
  const state = {
    pulled: 0,
    destroyed: false,
    destroy() {
      state.destroyed = true;
    },
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < count; i++) {
        // Each chunk arrives on its own turn, as from a socket.
        await Promise.resolve();
        state.pulled++;
        yield i % 2 === 0 ? Buffer.alloc(size, 0x61 + (i % 26)) : new Uint8Array(size).fill(0x61 + (i % 26));
      }
    },
  };
  return state;
}

describe("readWhole: the whole body within a limit, never silently cut", () => {
  it.each([
    ["smaller than the limit", 3, 10, 100, 30],
    ["exactly the limit", 4, 10, 40, 40],
    ["empty", 0, 10, 10, 0],
  ])("%s: all of it", async (_name, count, size, limit, length) => {
    const source = body(count, size);
    const bytes = await readWhole(source, limit);
    expect(bytes?.length).toBe(length);
    expect(source.destroyed).toBe(false);
  });

  it("one byte over the limit: undefined, and the rest is not received", async () => {
    const source = body(1000, 10);
    expect(await readWhole(source, 39)).toBeUndefined();
    expect(source.destroyed).toBe(true);
    expect(source.pulled).toBe(4);
  });
});

describe("readStart: the first bytes of a reply that is only shown", () => {
  it("stops at the limit and cuts the last chunk there", async () => {
    const source = body(1000, 10);
    const bytes = await readStart(source, 25);
    expect(bytes.toString("latin1")).toBe(`${"a".repeat(10)}${"b".repeat(10)}${"c".repeat(5)}`);
    expect(source.destroyed).toBe(true);
    expect(source.pulled).toBe(3);
  });

  it("a shorter reply is returned whole", async () => {
    const source = body(2, 10);
    expect((await readStart(source, 4096)).length).toBe(20);
    expect(source.destroyed).toBe(false);
  });
});
