import { describe, expect, it } from "vitest";
import { isPlainValue, Scrubber } from "../../../src/util/secrets.js";

describe("Scrubber", () => {
  const scrubber = new Scrubber(['p@ss"wörd/1', "tok-123456", "on"]);

  it.each([
    ["plain", "token tok-123456 leaked", "token *** leaked"],
    ["inside a URL, percent-encoded", "https://hooks.example/p%40ss%22w%C3%B6rd%2F1?x=1", "https://hooks.example/***?x=1"],
    ["inside JSON, escaped", JSON.stringify({ m: 'p@ss"wörd/1' }), '{"m":"***"}'],
    ["twice", "tok-123456tok-123456", "******"],
    ["too short to be a secret", "turned on", "turned on"],
  ])("%s", (_name, text, expected) => {
    expect(scrubber.text(text)).toBe(expected);
  });

  it("scrubs every string of a value and keeps its shape", () => {
    expect(scrubber.value({ error: "401 for tok-123456", n: 3, list: ["tok-123456"] })).toEqual({ error: "401 for ***", n: 3, list: ["***"] });
  });

  it.each([
    // In JSON text this secret spans a string's end and the next key: scrubbing the text broke it.
    ["JSON punctuation", 'k-1","n', { a: "k-1", n: 3, b: 'see k-1","n' }, { a: "k-1", n: 3, b: "see ***" }],
    ["a nested key", "tok-nested-9", { flaps: { "tok-nested-9": 2 }, list: [{ m: null, ok: true }] }, { flaps: { "***": 2 }, list: [{ m: null, ok: true }] }],
  ])("a secret matching %s changes only text, never the value's shape", (_name, secret, value, expected) => {
    expect(new Scrubber([secret]).value(value)).toEqual(expected);
  });

  it("knows only the values added to it: another scrubber, or one made earlier, is not changed", () => {
    const later = new Scrubber();
    expect(later.text("token tok-123456 leaked")).toBe("token tok-123456 leaked");
    expect(later.value({ m: "tok-123456" })).toEqual({ m: "tok-123456" });
    later.add(["late-secret-42"]);
    expect(later.text("late-secret-42 and tok-123456")).toBe("*** and tok-123456");
    expect(scrubber.text("late-secret-42")).toBe("late-secret-42");
  });

  it("scrubs remote text whole before cutting it, so no prefix of a secret is left at the cut", () => {
    expect(scrubber.start(`${"x".repeat(8)}tok-123456 more`, 12)).toBe(`${"x".repeat(8)}*** `);
    expect(new Scrubber().start(`${"x".repeat(8)}tok-123456 more`, 12)).toBe(`${"x".repeat(8)}tok-`);
  });
});

describe("a secret in the forms URL encoders give it", () => {
  // `'` and `|` are left alone by one encoder and escaped by another; spaces become %20 or +.
  const value = "it's a sécret|x~(1)!*";
  const scrubber = new Scrubber([value]);

  it.each([
    ["a WHATWG URL path", new URL(`http://h/hook/${value}`).href],
    ["a WHATWG URL query", new URL(`http://h/hook?t=${value}`).href],
    ["a WHATWG URL query, echoed with + for spaces", new URL(`http://h/hook?t=${value}`).search.replace(/%20/g, "+")],
    ["a form field (URLSearchParams)", new URLSearchParams({ t: value }).toString()],
    ["URL userinfo", (() => Object.assign(new URL("http://h/"), { username: "u", password: value }).href)()],
    ["encodeURI", encodeURI(`http://h/${value}`)],
    ["encodeURIComponent", encodeURIComponent(value)],
    ["lower-case hex", encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())],
    ["a URL inside JSON", JSON.stringify({ url: new URL(`http://h/?t=${value}`).href })],
  ])("%s", (_name, text) => {
    const scrubbed = scrubber.text(text);
    expect(scrubbed).toContain("***");
    // Nothing of the value's distinctive middle survives, in any encoding.
    expect(scrubbed).not.toMatch(/s(%C3%A9|%c3%a9|é)cret/);
  });

  it("never registers a form cut short by a ? or # in the value", () => {
    const cut = new Scrubber(["ab#cdefgh", "xy?zzzzzz"]);
    expect(cut.text("ab and xy stay")).toBe("ab and xy stay");
    expect(cut.text("ab#cdefgh xy?zzzzzz")).toBe("*** ***");
  });
});

describe("values that are configuration, not secrets", () => {
  it.each(["34.66.25.221", "34.66.25.221/32", "2001:db8::/32", "::1", "8080", "-1.5", "1e3", "true", "False", "null"])("%s is not registered", (value) => {
    expect(isPlainValue(value)).toBe(true);
    expect(new Scrubber([value]).text(`entry ${value} kept`)).toBe(`entry ${value} kept`);
  });

  it.each(["34.66.25.221x", "token-8080", "1.2.3.4.5", "10.0.0.0/8/8", "truely"])("%s still is", (value) => {
    expect(isPlainValue(value)).toBe(false);
  });
});
