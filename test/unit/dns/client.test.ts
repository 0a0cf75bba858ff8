import * as packet from "dns-packet";
import { describe, expect, it } from "vitest";
import { decodeMessage } from "../../../src/dns/client.js";

function response(type: "A" | "AAAA" | "SRV", data: unknown): Buffer {
  return packet.encode({
    type: "response",
    id: 7,
    flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE,
    questions: [{ type, name: "x.test", class: "IN" }],
    answers: [{ type, name: "x.test", ttl: 60, data } as packet.Answer],
  });
}

const A = response("A", "34.66.25.221");
const AAAA = response("AAAA", "2600:1f18:24e6:b900::1");
const SRV = response("SRV", { priority: 0, weight: 0, port: 9999, target: "haproxy-0.x.test" });
const cut = (message: Buffer, bytes: number) => message.subarray(0, message.length - bytes);

describe("decodeMessage", () => {
  it.each([
    ["an A answer", A, "34.66.25.221"],
    ["an AAAA answer", AAAA, "2600:1f18:24e6:b900::1"],
    ["an SRV answer", SRV, { priority: 0, weight: 0, port: 9999, target: "haproxy-0.x.test" }],
    // Bytes after a complete message are left alone, as before.
    ["an A answer with bytes after it", Buffer.concat([A, Buffer.from([0, 0])]), "34.66.25.221"],
  ])("decodes %s", (_name, bytes, data) => {
    const message = decodeMessage(bytes);
    expect(message).toMatchObject({ type: "response", id: 7, rcode: "NOERROR", questions: [{ type: expect.any(String), name: "x.test" }] });
    expect(message?.answers?.[0]?.data).toEqual(data);
  });

  it.each<[string, Buffer]>([
    // dns-packet itself returns "34.66.25.undefined" … "undefined.undefined.undefined.undefined" for these.
    ...[1, 2, 3, 4].map((n) => [`an A record cut by ${n} bytes`, cut(A, n)] as [string, Buffer]),
    // … and "::" for these: an address no resolver sent.
    ...[1, 8, 15].map((n) => [`an AAAA record cut by ${n} bytes`, cut(AAAA, n)] as [string, Buffer]),
    ...[1, 9].map((n) => [`an SRV record cut by ${n} bytes`, cut(SRV, n)] as [string, Buffer]),
    ["nothing", Buffer.alloc(0)],
    ["less than a header", Buffer.from([1, 2, 3])],
    ["a header promising a question that is not there", Buffer.from([0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0])],
  ])("refuses %s", (_name, bytes) => {
    expect(decodeMessage(bytes)).toBeUndefined();
  });
});
