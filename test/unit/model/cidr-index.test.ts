import { describe, expect, it } from "vitest";
import { CidrIndex } from "../../../src/model/cidr-index.js";

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
});
