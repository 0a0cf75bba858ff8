import { describe, expect, it } from "vitest";
import { breadthViolation } from "../../../src/model/breadth.js";
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
