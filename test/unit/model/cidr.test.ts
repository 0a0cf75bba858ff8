import { describe, expect, it } from "vitest";
import { type Cidr, canonicalise, contains, ipv4Admitted, isAddressText, parseCidr, subtract, canonicalKey } from "../../../src/model/cidr.js";
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
    ["::ffff:1.2.3.4%eth0", "not an IPv6 address"],
    ["::ffff:01.2.3.4", "not an IPv6 address"],
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

describe("IPv4-mapped IPv6", () => {
  it.each([
    ["::ffff:1.2.3.4", "1.2.3.4/32"],
    ["::FFFF:1.2.3.4", "1.2.3.4/32"],
    ["::ffff:1.2.3.4/128", "1.2.3.4/32"],
    ["::ffff:102:304/128", "1.2.3.4/32"],
    ["0:0:0:0:0:ffff:0102:0304", "1.2.3.4/32"],
    ["0000:0000:0000:0000:0000:FFFF:0102:0304/128", "1.2.3.4/32"],
    ["::FFFF:1.2.3.0/120", "1.2.3.0/24"],
    ["0:0:0:0:0:ffff:1.2.3.0/120", "1.2.3.0/24"],
    ["::ffff:102:300/120", "1.2.3.0/24"],
    ["::ffff:127.0.0.0/104", "127.0.0.0/8"],
    ["0:0:0:0:0:ffff:7f00:0/104", "127.0.0.0/8"],
    ["::ffff:0:0/96", "0.0.0.0/0"],
    ["::ffff:0.0.0.0/96", "0.0.0.0/0"],
    ["::ffff:255.255.255.255", "255.255.255.255/32"],
  ])("%s -> %s (IPv4)", (input, expected) => {
    const parsed = parseCidr(input);
    expect(parsed).toMatchObject({ ok: true, cidr: { family: 4, text: expected } });
    expect(parseCidr(input, { lenient: true })).toEqual(parsed);
    expect(parsed).toEqual(parseCidr(expected));
  });

  it.each([
    ["::/32", "::/32"],
    ["::/80", "::/80"],
    ["::ffff:0:0/95", "::fffe:0:0/95"],
    ["::1.2.3.4", "::102:304/128"],
    ["64:ff9b::1.2.3.4", "64:ff9b::102:304/128"],
    ["::fffe:1.2.3.4", "::fffe:102:304/128"],
    ["::ffff:0:1.2.3.4", "::ffff:0:102:304/128"],
  ])("%s stays IPv6 (%s): outside the mapped space or wider than it", (input, expected) => {
    expect(parseCidr(input, { lenient: true })).toMatchObject({ ok: true, cidr: { family: 6, text: expected } });
  });

  it.each([
    ["::ffff:1.2.3.4/120", "host bits set (network is 1.2.3.0/24)"],
    ["::ffff:1.2.3.4/96", "host bits set (network is 0.0.0.0/0)"],
    ["0:0:0:0:0:ffff:0102:0304/112", "host bits set (network is 1.2.0.0/16)"],
    ["::ffff:1.2.3", "not an IPv6 address"],
    ["::ffff:1.2.3.4.5", "not an IPv6 address"],
    ["::ffff:256.2.3.4", "not an IPv6 address"],
    ["::ffff:1.2.3.4:0", "not an IPv6 address"],
    ["1.2.3.4::", "not an IPv6 address"],
    ["1.2.3.4::ffff", "not an IPv6 address"],
    ["0:0:0:0:0:0:ffff:1.2.3.4", "not an IPv6 address"],
    ["::ffff:1.2.3.4/129", "prefix length must be 0 to 128"],
    ["1.2.3.4/::", "not an IPv6 address"],
    ["::ffff:1.2.3.4;show info", "not an IPv6 address"],
  ])("strict mode rejects %j (%s)", (input, reason) => {
    const result = parseCidr(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe(reason);
  });

  it.each([
    ["::ffff:1.2.3.4/120", "1.2.3.0/24"],
    ["::ffff:1.2.3.4/127", "1.2.3.4/31"],
    ["::ffff:1.2.3.4/96", "0.0.0.0/0"],
    ["::FFFF:102:304/112", "1.2.0.0/16"],
  ])("lenient mode clears host bits of %s -> %s", (input, expected) => {
    expect(canonicalise(input, { lenient: true })).toBe(expected);
  });

  it.each(["::ffff:1.2.3.4", "0:0:0:0:0:ffff:1.2.3.4/120", "::ffff:102:304/128", "::FFFF:1.2.3.0/120", "::1.2.3.4"])(
    "isAddressText accepts %s, as the lenient parser does",
    (text) => {
      expect(parseCidr(text, { lenient: true }).ok).toBe(true);
      expect(isAddressText(text)).toBe(true);
    },
  );

  it.each(["::ffff:1.2.3.4%eth0", "::ffff:01.2.3.4", "::ffff:1.2.3", "0:0:0:0:0:0:ffff:1.2.3.4", "::ffff:1.2.3.4 x"])("isAddressText refuses %j", (text) => {
    expect(isAddressText(text)).toBe(false);
  });
});

describe("ipv4Admitted", () => {
  it.each([
    ["1.2.3.0/24", "1.2.3.0/24"],
    ["::ffff:1.2.3.0/120", "1.2.3.0/24"],
    ["::/0", "0.0.0.0/0"],
    ["::/32", "0.0.0.0/0"],
    ["::/80", "0.0.0.0/0"],
    ["::fffe:0:0/95", "0.0.0.0/0"],
    ["2001:db8::/32", undefined],
    ["::/96", undefined],
    ["::1/128", undefined],
    ["::102:304/128", undefined],
    ["64:ff9b::/96", undefined],
    ["::fffe:0:0/96", undefined],
  ])("%s admits %s", (text, expected) => {
    expect(ipv4Admitted(cidr(text))?.text).toBe(expected);
  });

  it("an IPv4 entry admits itself", () => {
    const entry = cidr("34.66.0.0/16");
    expect(ipv4Admitted(entry)).toBe(entry);
  });

  it("::/32 admits the same clients as 0.0.0.0/0", () => {
    expect(ipv4Admitted(cidr("::/32"))).toEqual(cidr("0.0.0.0/0"));
  });

  it.each([
    [0xffff_0102_0300n, 120, "1.2.3.0/24"],
    [0xffff_0000_0000n, 97, "0.0.0.0/1"],
    [0xffff_ffff_ffffn, 128, "255.255.255.255/32"],
    [0xfffe_0102_0300n, 120, undefined],
  ])("a non-canonical IPv6 range %s/%s admits %s", (network, prefix, expected) => {
    const range: Cidr = { family: 6, network, prefix, text: "not canonical" };
    expect(ipv4Admitted(range)?.text).toBe(expected);
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
    ["::fffe:0:0/95", "::fffe:0:0/96", ["0.0.0.0/0"]],
    [
      "::ffff:1.2.3.0/120",
      "::ffff:1.2.3.1",
      ["1.2.3.128/25", "1.2.3.64/26", "1.2.3.32/27", "1.2.3.16/28", "1.2.3.8/29", "1.2.3.4/30", "1.2.3.2/31", "1.2.3.0/32"],
    ],
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
    ["::ffff:127.0.0.1", "loopback (127.0.0.0/8)"],
    ["::ffff:10.1.0.0/112", "private (10.0.0.0/8)"],
    ["::fffe:0:0/95", "IPv4-mapped (::ffff:0:0/96)"],
  ])("%s is %s", (text, label) => {
    expect(reservedRange(cidr(text))).toContain(label);
  });

  it.each(["34.66.25.221/32", "104.154.113.151/32", "2600:1f18::/32", "::ffff:34.66.25.221", "::ffff:104.154.0.0/112"])("%s is public", (text) => {
    expect(reservedRange(cidr(text))).toBeUndefined();
  });
});

describe("canonicalKey", () => {
  it.each([
    ["34.66.25.221", "34.66.25.221/32"],
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["2001:DB8::1", "2001:db8::1/128"],
    ["not-an-address", "not-an-address"],
  ])("a live key %j compares as %j", (key, expected) => {
    expect(canonicalKey(key)).toBe(expected);
  });
});
