import { describe, expect, it } from "vitest";
import { admittedSpan, breadthViolation, broadest, spanText } from "../../../src/model/breadth.js";
import { parseCidr } from "../../../src/model/cidr.js";

const RULES = { minPrefixV4: 16, minPrefixV6: 32 };
const MAPPED_ALL = "admits every IPv4 client as 0.0.0.0/0 through IPv4-mapped IPv6 (::ffff:0:0/96); broader than /16 (guards.minPrefixV4)";

function cidr(text: string) {
  const parsed = parseCidr(text, { lenient: true });
  if (!parsed.ok) throw new Error(`${text}: ${parsed.reason}`);
  return parsed.cidr;
}

describe("breadthViolation", () => {
  it.each([
    ["0.0.0.0/0", "broader than /16 (guards.minPrefixV4)"],
    ["34.0.0.0/8", "broader than /16 (guards.minPrefixV4)"],
    ["34.66.0.0/15", "broader than /16 (guards.minPrefixV4)"],
    ["::ffff:0:0/96", "broader than /16 (guards.minPrefixV4)"],
    ["::ffff:127.0.0.0/104", "broader than /16 (guards.minPrefixV4)"],
    ["0:0:0:0:0:ffff:7f00:0/104", "broader than /16 (guards.minPrefixV4)"],
    ["2600::/16", "broader than /32 (guards.minPrefixV6)"],
    ["2600:1f18::/31", "broader than /32 (guards.minPrefixV6)"],
    ["::/0", `${MAPPED_ALL}; broader than /32 (guards.minPrefixV6)`],
    ["::/32", MAPPED_ALL],
    ["::/80", MAPPED_ALL],
    ["::fffe:0:0/95", MAPPED_ALL],
  ])("%s: %s", (text, reason) => {
    expect(breadthViolation(cidr(text), RULES)).toBe(reason);
  });

  it.each([
    "34.66.0.0/16",
    "34.66.25.221/32",
    "::ffff:34.66.0.0/112",
    "::ffff:127.0.0.21",
    "2600:1f18::/32",
    "2001:db8::/32",
    "::/96",
    "::1/128",
    "64:ff9b::/96",
  ])("%s is narrow enough", (text) => {
    expect(breadthViolation(cidr(text), RULES)).toBeUndefined();
  });

  it("judges a mapped-space IPv6 range on the IPv4 rule even when the IPv6 rule would let it through", () => {
    expect(breadthViolation(cidr("::/32"), { minPrefixV4: 16, minPrefixV6: 1 })).toBe(MAPPED_ALL);
    expect(breadthViolation(cidr("::/80"), { minPrefixV4: 1, minPrefixV6: 32 })).toBe(MAPPED_ALL.replace("/16", "/1"));
    expect(breadthViolation(cidr("2001:db8::/32"), { minPrefixV4: 32, minPrefixV6: 32 })).toBeUndefined();
  });

  it("names a narrower admitted range when it is not everything", () => {
    const range = { family: 6 as const, network: 0xffff_7f00_0000n, prefix: 104, text: "::ffff:7f00:0/104" };
    expect(breadthViolation(range, RULES)).toBe(
      "admits IPv4 clients in 127.0.0.0/8 through IPv4-mapped IPv6 (::ffff:0:0/96); broader than /16 (guards.minPrefixV4)",
    );
    expect(breadthViolation(range, { minPrefixV4: 8, minPrefixV6: 32 })).toBeUndefined();
  });

  it("holds at the exact limits", () => {
    expect(breadthViolation(cidr("34.66.0.0/16"), RULES)).toBeUndefined();
    expect(breadthViolation(cidr("34.66.0.0/16"), { ...RULES, minPrefixV4: 17 })).toBe("broader than /17 (guards.minPrefixV4)");
    expect(breadthViolation(cidr("2600:1f18::/32"), { ...RULES, minPrefixV6: 33 })).toBe("broader than /33 (guards.minPrefixV6)");
  });
});

describe("admittedSpan", () => {
  it.each([
    { name: "nothing", entries: [], ipv4: 0n, ipv6Networks: 0n },
    { name: "single IPv4 addresses", entries: ["34.66.25.221/32", "35.1.2.3/32"], ipv4: 2n, ipv6Networks: 0n },
    { name: "a /16", entries: ["34.66.0.0/16"], ipv4: 65_536n, ipv6Networks: 0n },
    { name: "nested ranges counted once", entries: ["34.66.0.0/16", "34.66.1.0/24", "34.66.1.7/32"], ipv4: 65_536n, ipv6Networks: 0n },
    { name: "overlap given broadest last", entries: ["34.66.1.0/24", "34.66.0.0/23", "34.66.0.0/22"], ipv4: 1024n, ipv6Networks: 0n },
    { name: "adjacent ranges add up", entries: ["34.66.0.0/24", "34.66.1.0/24"], ipv4: 512n, ipv6Networks: 0n },
    { name: "the whole IPv4 space", entries: ["0.0.0.0/0", "34.66.0.0/16"], ipv4: 4_294_967_296n, ipv6Networks: 0n },
    { name: "an IPv6 address is one /64", entries: ["2600:1900::1/128"], ipv4: 0n, ipv6Networks: 1n },
    { name: "IPv6 addresses in one /64 count once", entries: ["2600:1900::1/128", "2600:1900::2/128", "2600:1900::/80"], ipv4: 0n, ipv6Networks: 1n },
    { name: "an IPv6 /48 is 65536 /64s", entries: ["2600:1900::/48", "2600:1900:0:1::/64"], ipv4: 0n, ipv6Networks: 65_536n },
    { name: "mixed families are counted apart", entries: ["34.66.0.0/24", "2600:1900::/56"], ipv4: 256n, ipv6Networks: 256n },
    { name: "IPv4-mapped IPv6 is IPv4", entries: ["::ffff:34.66.0.0/112", "34.66.0.0/24"], ipv4: 65_536n, ipv6Networks: 0n },
    { name: "an IPv6 range over the mapped space admits every IPv4 client", entries: ["::/80"], ipv4: 4_294_967_296n, ipv6Networks: 1n },
  ])("$name", ({ entries, ipv4, ipv6Networks }) => {
    expect(admittedSpan(entries.map(cidr))).toEqual({ ipv4, ipv6Networks, total: ipv4 + ipv6Networks });
  });

  it("says the span in words", () => {
    expect(spanText(admittedSpan([]))).toBe("0 IPv4 addresses");
    expect(spanText(admittedSpan(["34.66.0.0/24"].map(cidr)))).toBe("256 IPv4 addresses");
    expect(spanText(admittedSpan(["2600:1900::/63"].map(cidr)))).toBe("2 IPv6 /64 networks");
    expect(spanText(admittedSpan(["34.66.25.221/32", "2600:1900::/64"].map(cidr)))).toBe("1 IPv4 address and 1 IPv6 /64 network");
    expect(spanText(admittedSpan(["34.66.0.0/24", "2600:1900::/63"].map(cidr)))).toBe("256 IPv4 addresses and 2 IPv6 /64 networks");
  });
});

describe("broadest", () => {
  it("keeps the broadest entries, broadest first and ties in the order given", () => {
    const entries = ["34.66.1.1/32", "34.67.0.0/24", "2600:1900::/56", "34.0.0.0/16", "35.0.0.0/24", "::/80"].map(cidr);
    expect(broadest(entries, 4).map((c) => c.text)).toEqual(["::/80", "34.0.0.0/16", "34.67.0.0/24", "2600:1900::/56"]);
    expect(broadest(entries, 10)).toHaveLength(6);
  });
});
