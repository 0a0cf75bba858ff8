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

  it("docs/errors.md renames only codes that are gone, each to a code that exists", () => {
    const renamed = DOC.slice(DOC.indexOf("## Renamed codes"));
    const pairs = [...renamed.matchAll(/^- `(E_[A-Z0-9_]+)` → `(E_[A-Z0-9_]+)`$/gm)].map((m) => [m[1] ?? "", m[2] ?? ""] as const);
    expect(pairs).toContainEqual(["E_DNS_TIMEOUT", "E_SOURCE_DNS_TIMEOUT"]);
    for (const [old, current] of pairs) {
      expect(isErrorCode(old), old).toBe(false);
      expect(isErrorCode(current), current).toBe(true);
    }
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
