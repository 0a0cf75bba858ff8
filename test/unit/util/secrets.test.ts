import { describe, expect, it } from "vitest";
import { addSecrets, scrubSecrets, scrubValue } from "../../../src/util/secrets.js";

describe("scrubSecrets", () => {
  addSecrets(['p@ss"wörd/1', "tok-123456", "on"]);

  it.each([
    ["plain", "token tok-123456 leaked", "token *** leaked"],
    ["inside a URL, percent-encoded", "https://hooks.example/p%40ss%22w%C3%B6rd%2F1?x=1", "https://hooks.example/***?x=1"],
    ["inside JSON, escaped", JSON.stringify({ m: 'p@ss"wörd/1' }), '{"m":"***"}'],
    ["twice", "tok-123456tok-123456", "******"],
    ["too short to be a secret", "turned on", "turned on"],
  ])("%s", (_name, text, expected) => {
    expect(scrubSecrets(text)).toBe(expected);
  });

  it("scrubs every string of a value and keeps its shape", () => {
    expect(scrubValue({ error: "401 for tok-123456", n: 3, list: ["tok-123456"] })).toEqual({ error: "401 for ***", n: 3, list: ["***"] });
  });
});
