import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AllowlistError, ERROR_CODES, errorCode, isErrorCode } from "../../src/errors.js";

const DOC = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");

describe("the error code table", () => {
  it("docs/errors.md lists exactly the codes the type allows, with the same meaning and action", () => {
    const rows = [...DOC.matchAll(/^\| `(E_[A-Z0-9_]+)` \| (.+) \| (.+) \|$/gm)].map((m) => [m[1], [m[2], m[3]]]);
    expect(Object.fromEntries(rows)).toEqual(ERROR_CODES);
    expect(rows).toHaveLength(Object.keys(ERROR_CODES).length);
  });

  it.each([
    [new AllowlistError("E_DESIRED_EMPTY", "empty"), "E_DESIRED_EMPTY"],
    [new Error("plain"), "E_INTERNAL"],
    ["a string", "E_INTERNAL"],
  ])("errorCode(%s) is %s", (err, code) => {
    expect(errorCode(err)).toBe(code);
  });

  it("isErrorCode knows the set and nothing else", () => {
    expect(isErrorCode("E_HAPROXY_COMMIT")).toBe(true);
    expect(isErrorCode("E_SOURCE_DNS_")).toBe(false);
    expect(isErrorCode("toString")).toBe(false);
  });
});
