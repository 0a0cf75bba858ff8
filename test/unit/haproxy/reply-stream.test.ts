import { describe, expect, it } from "vitest";
import { EntriesReader, MAX_LINE_BYTES } from "../../../src/haproxy/entries-reader.js";
import { getHeapStatistics } from "node:v8";
import {
  HEAP_BYTES_PER_LIVE_ENTRY,
  HEAP_RESERVE_BYTES,
  LiveEntryBudget,
  listLimit,
  type RunLiveEntries,
  runLiveEntries,
} from "../../../src/haproxy/live-budget.js";

const MIB = 1024 * 1024;
import { ReplyFramer, TextReader } from "../../../src/haproxy/reply-stream.js";

/** The replies of a stream cut into chunks of `size` bytes, each joined back from its parts. */
function frame(stream: string, size: number): string[] {
  const framer = new ReplyFramer();
  const replies: string[] = [];
  let current = "";
  for (let i = 0; i < stream.length; i += size) {
    for (const part of framer.push(Buffer.from(stream.slice(i, i + size)))) {
      current += part.bytes.toString("utf8");
      if (part.last) {
        replies.push(current);
        current = "";
      }
    }
  }
  return replies;
}

describe("ReplyFramer", () => {
  const stream = "\n> \n> # id (file)\n0 (/m.map) x\n\n> + + + \n> 0x1 1.2.3.4 travis\n\n> ";

  it.each([1, 2, 3, 5, 7, 1000])("splits the same replies whatever the chunk size (%d)", (size) => {
    expect(frame(stream, size)).toEqual(["\n", "\n", "# id (file)\n0 (/m.map) x\n\n", "+ + + \n", "0x1 1.2.3.4 travis\n\n"]);
  });

  it("hands an unfinished reply on as it arrives, holding back only where a prompt may begin", () => {
    const framer = new ReplyFramer();
    expect(framer.push(Buffer.from("0x1 1.2.3.4 travis\n")).map((p) => [p.bytes.toString(), p.last])).toEqual([["0x1 1.2.3.4 travis", false]]);
    expect(framer.push(Buffer.from("\n>")).map((p) => [p.bytes.toString(), p.last])).toEqual([["\n", false]]);
    expect(framer.push(Buffer.from(" ")).map((p) => [p.bytes.toString(), p.last])).toEqual([["\n", true]]);
  });
});

describe("TextReader", () => {
  it("fails a command's reply past its byte limit, multi-byte characters counted in bytes", () => {
    const reader = new TextReader(10);
    reader.push(Buffer.from("ab"));
    expect(() => reader.push(Buffer.from("é€😀"))).toThrow(expect.objectContaining({ code: "E_HAPROXY_REPLY_TOO_LARGE" }));
  });
});

describe("EntriesReader", () => {
  it("reads entries as pieces arrive, whatever the cut", () => {
    const reader = new EntriesReader("map", listLimit(10));
    for (const piece of ["0x1 1.2.3.4 tra", "vis\n0x2 10.0.0.0/8 office\n", "\n"]) reader.push(Buffer.from(piece));
    expect(reader.finish()).toEqual({
      ok: true,
      entries: [
        { ref: "0x1", key: "1.2.3.4", value: "travis" },
        { ref: "0x2", key: "10.0.0.0/8", value: "office" },
      ],
    });
  });

  it("gives a refusal back as HAProxy's response, not as entries", () => {
    const reader = new EntriesReader("map", listLimit(10));
    reader.push(Buffer.from("[3]: Unknown map identifier\n"));
    expect(reader.finish()).toEqual({ ok: false, response: { severity: 3, text: "Unknown map identifier", isError: true } });
  });

  it("fails with E_HAPROXY_LIVE_TOO_LONG naming limits.maxLiveEntries once a list is longer", () => {
    const reader = new EntriesReader("acl", listLimit(2));
    expect(() => reader.push(Buffer.from("0x1 1.1.1.1\n0x2 2.2.2.2\n0x3 3.3.3.3\n"))).toThrow(
      expect.objectContaining({ code: "E_HAPROXY_LIVE_TOO_LONG", message: expect.stringContaining("more than 2 entries (limits.maxLiveEntries)") }),
    );
  });

  it("fails a line that never ends, before it fills memory", () => {
    const reader = new EntriesReader("map", listLimit(10));
    reader.push(Buffer.from("0x1 1.2.3.4 travis\n"));
    expect(() => reader.push(Buffer.alloc(MAX_LINE_BYTES + 1, 0x61))).toThrow(expect.objectContaining({ code: "E_HAPROXY_REPLY_TOO_LARGE" }));
  });

  it("counts a last line without its newline, and not the empty line that ends a reply", () => {
    const reader = new EntriesReader("acl", listLimit(2));
    reader.push(Buffer.from("0x1 1.1.1.1\n\n"));
    reader.push(Buffer.from("0x2 2.2.2.2"));
    expect(reader.finish()).toEqual({
      ok: true,
      entries: [
        { ref: "0x1", key: "1.1.1.1" },
        { ref: "0x2", key: "2.2.2.2" },
      ],
    });
  });

  it("rejects a line that is no entry as E_HAPROXY_PROTOCOL", () => {
    const reader = new EntriesReader("map", listLimit(10));
    reader.push(Buffer.from("garbage line\n"));
    expect(() => reader.finish()).toThrow(expect.objectContaining({ code: "E_HAPROXY_PROTOCOL" }));
  });
});

describe("runLiveEntries", () => {
  it("gives the run what the heap leaves past the reserve, at the measured cost of a live entry", () => {
    const heapLimitBytes = HEAP_RESERVE_BYTES + 1000 * HEAP_BYTES_PER_LIVE_ENTRY + HEAP_BYTES_PER_LIVE_ENTRY - 1;
    expect(runLiveEntries(heapLimitBytes)).toEqual({ entries: 1000, heapLimitBytes });
  });

  it("admits about 219,000 live entries in the image's 166 MiB heap, and millions in a heap of 4 GiB", () => {
    expect(runLiveEntries(166 * MIB).entries).toBe(219_545);
    expect(runLiveEntries(4096 * MIB).entries).toBeGreaterThan(6_000_000);
  });

  it("admits none in a heap smaller than the reserve", () => {
    expect(runLiveEntries(HEAP_RESERVE_BYTES - 1).entries).toBe(0);
  });

  it("reads the heap limit of the process it runs in by default", () => {
    expect(runLiveEntries().heapLimitBytes).toBe(getHeapStatistics().heap_size_limit);
  });
});

describe("LiveEntryBudget", () => {
  const run = (entries: number): RunLiveEntries => ({ entries, heapLimitBytes: 166 * MIB });

  it("lets every read keep a short list, however full the shared pool, and refuses a long one once the pool is drawn", () => {
    // 1600 at once for the run, 4 reads at once: 25 entries each of their own, a pool of 1500 the flood draws in full.
    const budget = new LiveEntryBudget(1525, 4, run(1600));
    const flood = budget.forList();
    flood.take(1525);
    const short = budget.forList();
    expect(() => short.take(25)).not.toThrow();
    const long = budget.forList();
    expect(() => long.take(50)).toThrow(
      expect.objectContaining({
        code: "E_HAPROXY_LIVE_TOO_LONG",
        message: expect.stringContaining(
          "other instances' lists already fill the run's memory budget (1600 live entries for all instances together, from a 166 MiB heap)",
        ),
      }),
    );
    flood.release();
    expect(() => budget.forList().take(1400)).not.toThrow();
  });

  it("refuses a list longer than the run's budget, whatever limits.maxLiveEntries allows, and names what raises it", () => {
    // 1600 at once for the run, 4 reads at once: one list alone may hold 1600 less the others' own 3 × 25.
    const budget = new LiveEntryBudget(500_000, 4, run(1600));
    const list = budget.forList();
    expect(() => list.take(1525)).not.toThrow();
    expect(() => list.take(1)).toThrow(
      expect.objectContaining({
        code: "E_HAPROXY_LIVE_TOO_LONG",
        message: expect.stringMatching(
          /more than 1525 entries, the most one list may hold of the run's memory budget \(1600 live entries .* 166 MiB heap\); a larger memory limit with a matching --max-old-space-size raises it/,
        ),
      }),
    );
    list.release();
    expect(() => budget.forList().take(1525)).not.toThrow();
  });

  it("counts each list against maxLiveEntries on its own", () => {
    const list = new LiveEntryBudget(5, 1, run(1000)).forList();
    list.take(5);
    expect(() => list.take(1)).toThrow(expect.objectContaining({ code: "E_HAPROXY_LIVE_TOO_LONG", message: expect.stringContaining("limits.maxLiveEntries") }));
  });
});
