import { describe, expect, it } from "vitest";
import { canonicalise, contains, parseCidr, subtract } from "../../../src/model/cidr.js";
import { reservedRange } from "../../../src/model/reserved.js";

function cidr(text: string) {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.reason}`);
  return parsed.cidr;
}

describe("canonicalise (strict)", () => {
  it.each([
    ["1.2.3.4", "1.2.3.4/32"],
    ["1.2.3.4/32", "1.2.3.4/32"],
    ["34.66.0.0/16", "34.66.0.0/16"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["255.255.255.255", "255.255.255.255/32"],
    ["2001:DB8::1", "2001:db8::1/128"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001/128", "2001:db8::1/128"],
    ["2600:1f18::/32", "2600:1f18::/32"],
    ["::", "::/128"],
  ])("%s -> %s", (input, expected) => {
    expect(canonicalise(input)).toBe(expected);
  });

  it.each([
    ["1.2.3.4/24", "host bits set"],
    ["1.2.3", "not an IPv4 address"],
    ["1.2.3.4.5", "not an IPv4 address"],
    ["256.1.1.1", "not an IPv4 address"],
    ["01.2.3.4", "not an IPv4 address"],
    ["1.2.3.4/33", "prefix length"],
    ["1.2.3.4/08", "prefix length"],
    ["1.2.3.4/", "prefix length"],
    ["1.2.3.4;clear map /m", "not an IPv4 address"],
    ["1.2.3.4\nclear map /m", "not an IPv4 address"],
    ["1.2.3.4 <<", "not an IPv4 address"],
    [" 1.2.3.4", "not an IPv4 address"],
    ["fe80::1%eth0", "not an IPv6 address"],
    ["::ffff:1.2.3.4", "not an IPv6 address"],
    ["2001:db8::1/64", "host bits set"],
    ["2001:db8::/129", "prefix length"],
    ["", "empty"],
    ["<html>", "not an IPv4 address"],
  ])("rejects %j (%s)", (input, reason) => {
    const result = parseCidr(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it("is idempotent", () => {
    for (const text of ["1.2.3.4", "10.0.0.0/8", "2001:DB8:0::/48"]) {
      const once = canonicalise(text) as string;
      expect(canonicalise(once)).toBe(once);
    }
  });
});

describe("canonicalise (lenient, for live keys)", () => {
  it.each([
    ["1.2.3.4/24", "1.2.3.0/24"],
    ["10.0.0.0/255.0.0.0", "10.0.0.0/8"],
    ["1.2.3.4/255.255.255.255", "1.2.3.4/32"],
    ["2001:db8::1/64", "2001:db8::/64"],
  ])("%s -> %s", (input, expected) => {
    expect(canonicalise(input, { lenient: true })).toBe(expected);
  });

  it("still refuses a non-contiguous netmask", () => {
    expect(canonicalise("10.0.0.0/255.0.255.0", { lenient: true })).toBeUndefined();
  });
});

describe("contains and subtract", () => {
  it("contains by prefix and family", () => {
    expect(contains(cidr("34.0.0.0/8"), cidr("34.66.25.221/32"))).toBe(true);
    expect(contains(cidr("34.66.25.221/32"), cidr("34.0.0.0/8"))).toBe(false);
    expect(contains(cidr("35.0.0.0/8"), cidr("34.66.25.221/32"))).toBe(false);
    expect(contains(cidr("::/0"), cidr("1.2.3.4/32"))).toBe(false);
  });

  it.each([
    ["10.0.0.0/30", "10.0.0.1/32", ["10.0.0.2/31", "10.0.0.0/32"]],
    ["10.0.0.0/24", "10.0.0.0/24", []],
    ["10.0.0.0/24", "10.0.0.0/8", []],
    ["10.0.0.0/24", "11.0.0.0/8", ["10.0.0.0/24"]],
    ["2001:db8::/126", "2001:db8::3/128", ["2001:db8::/127", "2001:db8::2/128"]],
  ])("%s minus %s", (range, hole, expected) => {
    expect(subtract(cidr(range), cidr(hole)).map((c) => c.text)).toEqual(expected);
  });
});

describe("reserved ranges", () => {
  it.each([
    ["127.0.0.1/32", "loopback"],
    ["10.1.0.0/16", "private"],
    ["192.168.1.1/32", "private"],
    ["203.0.113.7/32", "documentation"],
    ["224.0.0.1/32", "multicast"],
    ["0.0.0.0/0", "this network"],
    ["fe80::1/128", "link-local"],
    ["2001:db8::/32", "documentation"],
  ])("%s is %s", (text, label) => {
    expect(reservedRange(cidr(text))).toContain(label);
  });

  it.each(["34.66.25.221/32", "104.154.113.151/32", "2600:1f18::/32"])("%s is public", (text) => {
    expect(reservedRange(cidr(text))).toBeUndefined();
  });
});
