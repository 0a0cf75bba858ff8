import { describe, expect, it } from "vitest";
import { parseResolvConf, parseResolver } from "../../../src/util/resolver.js";

describe("parseResolver", () => {
  it.each([
    ["127.0.0.1", { host: "127.0.0.1", port: 53 }],
    ["127.0.0.1:5353", { host: "127.0.0.1", port: 5353 }],
    ["::1", { host: "::1", port: 53 }],
    ["[::1]:5353", { host: "::1", port: 5353 }],
    ["[2001:db8::53]", { host: "2001:db8::53", port: 53 }],
  ])("%s", (text, expected) => expect(parseResolver(text)).toEqual({ kind: "udp", ...expected, label: text }));

  it("takes DNS over HTTPS URLs, never with credentials", () => {
    expect(parseResolver("https://dns.example/dns-query")).toEqual({
      kind: "doh",
      url: "https://dns.example/dns-query",
      label: "https://dns.example/dns-query",
    });
    expect(parseResolver("https://user:pw@dns.example/dns-query")).toBeUndefined();
    expect(parseResolver("http://dns.example/dns-query")).toBeUndefined();
  });

  it.each(["dns.google", "127.0.0.1:0", "127.0.0.1:70000", "1.2.3", "[::1", "127.0.0.1:53:53"])("refuses %s", (text) => {
    expect(parseResolver(text)).toBeUndefined();
  });
});

describe("parseResolvConf", () => {
  it("lists nameservers in order and skips the rest", () => {
    const text = "# comment\nsearch example.com\nnameserver 10.96.0.10\nnameserver fe80::1%eth0\nnameserver ::1\noptions ndots:5\nnameserver bogus\n";
    expect(parseResolvConf(text).map((r) => `${r.host}:${r.port}`)).toEqual(["10.96.0.10:53", "fe80::1:53", "::1:53"]);
  });
});
