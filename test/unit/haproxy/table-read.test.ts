import { describe, expect, it } from "vitest";
import { StickTableLines } from "../../../src/haproxy/table-read.js";

const NOW = new Date("2026-11-26T12:00:00.000Z");
const DAY_MS = 86_400_000;
const REPLY = [
  "# table: st_denied, type: ipv6, size:102400, used:2",
  "0x55a33baca360: key=::ffff:127.0.0.5 use=0 exp=86399605 http_req_cnt=3 http_req_rate(3600000)=3",
  "0x7fb6880466b0: key=2001:db8::1 use=0 exp=86340000 shard=0 http_req_cnt=1 http_req_rate(3600000)=1",
  "",
  "",
].join("\n");

/** The reply handed over in pieces of `size` bytes, as a socket may cut it. */
function readInPieces(text: string, size: number) {
  const reader = new StickTableLines({ now: NOW, expireMs: DAY_MS });
  const bytes = Buffer.from(text, "utf8");
  for (let at = 0; at < bytes.length; at += size) reader.push(bytes.subarray(at, at + size));
  return reader.finish();
}

describe("StickTableLines", () => {
  it.each([1, 7, 64, 100_000])("reads the same clients whatever the pieces the reply arrives in (%i bytes)", (size) => {
    const reply = readInPieces(REPLY, size);
    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(reply.read.clients).toEqual([
      { address: "127.0.0.5", requests: 3, lastSeenMs: NOW.getTime() - 395 },
      { address: "2001:db8::1", requests: 1, lastSeenMs: NOW.getTime() - 60_000 },
    ]);
    expect(reply.read.entries).toBe(2);
  });

  it("reads a last line that has no newline", () => {
    const reply = readInPieces(REPLY.trimEnd(), 5);
    expect(reply.ok && reply.read.clients.map((c) => c.address)).toEqual(["127.0.0.5", "2001:db8::1"]);
  });

  it("ends the reply with E_HAPROXY_REPLY_TOO_LARGE on a line that never ends", () => {
    const reader = new StickTableLines({ now: NOW, expireMs: DAY_MS });
    reader.push(Buffer.from("# table: st_denied, type: ipv6, size:102400, used:2\n0x55a33baca360: key="));
    expect(() => reader.push(Buffer.alloc(70_000, 0x61))).toThrow(expect.objectContaining({ code: "E_HAPROXY_REPLY_TOO_LARGE" }));
  });
});
