import { describe, expect, it } from "vitest";
import { EntriesReader, MAX_LINE_BYTES } from "../../../src/haproxy/entries-reader.js";
import { LiveEntryBudget, listLimit } from "../../../src/haproxy/live-budget.js";
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

describe("LiveEntryBudget", () => {
  it("lets every read keep a short list, however full the shared pool, and refuses a long one once the pool is drawn", () => {
    // 100 at once for the run, 4 reads at once: 6 entries each of their own, a pool of 76.
    const budget = new LiveEntryBudget(80, 4, 100);
    const flood = budget.forList();
    flood.take(80);
    const short = budget.forList();
    expect(() => short.take(6)).not.toThrow();
    const long = budget.forList();
    expect(() => long.take(9)).toThrow(
      expect.objectContaining({ code: "E_HAPROXY_LIVE_TOO_LONG", message: expect.stringContaining("the run's memory budget") }),
    );
    flood.release();
    expect(() => budget.forList().take(60)).not.toThrow();
  });

  it("counts each list against maxLiveEntries on its own", () => {
    const list = new LiveEntryBudget(5, 1, 1000).forList();
    list.take(5);
    expect(() => list.take(1)).toThrow(expect.objectContaining({ code: "E_HAPROXY_LIVE_TOO_LONG", message: expect.stringContaining("limits.maxLiveEntries") }));
  });
});
