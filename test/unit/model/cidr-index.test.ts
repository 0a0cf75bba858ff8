import { describe, expect, it } from "vitest";
import { CidrIndex, indexedAddress } from "../../../src/model/cidr-index.js";

describe("CidrIndex", () => {
  const index = new CidrIndex([
    ["34.66.0.0/16", "wide"],
    ["34.66.25.221/32", "host"],
    ["2001:db8::/32", "v6"],
    ["::/32", "mapped-space"],
    ["10.0.0.1", "bare"],
    ["not an address", "ignored"],
  ]);

  it.each([
    ["34.66.25.221", "host"],
    ["34.66.25.222", "wide"],
    ["2001:db8::1", "v6"],
    ["2001:DB8:0::1", "v6"],
    ["10.0.0.1", "bare"],
    ["10.0.0.2", "mapped-space"],
    ["2001:db9::1", undefined],
    ["not an address", undefined],
  ])("%s is covered by %s", (address, expected) => {
    expect(index.covering(address)).toBe(expected);
  });

  it("admits no IPv4 client through an IPv6 entry outside the mapped space", () => {
    expect(new CidrIndex([["2001:db8::/32", true]]).covering("1.2.3.4")).toBeUndefined();
  });

  it("keeps the later value for the same network", () => {
    expect(
      new CidrIndex([
        ["1.2.3.4/32", "first"],
        ["1.2.3.4", "second"],
      ]).covering("1.2.3.4"),
    ).toBe("second");
  });

  it("answers the same for an address parsed once as for its text", () => {
    for (const address of ["34.66.25.221", "34.66.25.222", "2001:db8::1", "10.0.0.2", "2001:db9::1"]) {
      const parsed = indexedAddress(address);
      expect(parsed).toBeDefined();
      expect(index.covering(parsed as NonNullable<typeof parsed>)).toBe(index.covering(address));
    }
    expect(indexedAddress("10.0.0.01")).toBeUndefined();
    expect(indexedAddress("not an address")).toBeUndefined();
  });

  it("finds the narrowest entry over every prefix length, and none narrower than a range asked about", () => {
    const nested = new CidrIndex(Array.from({ length: 33 }, (_, prefix) => [`${prefix === 0 ? "0.0.0.0" : "10.20.30.40"}/${prefix}`, prefix] as const));
    expect(nested.covering("10.20.30.40")).toBe(32);
    expect(nested.covering("10.20.30.41")).toBe(31);
    expect(nested.covering("10.20.31.0")).toBe(23);
    expect(nested.covering("11.0.0.0")).toBe(7);
    expect(nested.covering("200.0.0.1")).toBe(0);
    expect(nested.covering("10.20.30.0/24")).toBe(24);
    const v6 = new CidrIndex([
      ["2001:db8::/32", 32],
      ["2001:db8:1::/48", 48],
      ["2001:db8:1::5/128", 128],
    ]);
    expect(v6.covering("2001:db8:1::5")).toBe(128);
    expect(v6.covering("2001:db8:1::6")).toBe(48);
    expect(v6.covering("2001:db8:2::1")).toBe(32);
    expect(v6.covering("2001:db8::/31")).toBeUndefined();
  });
});
