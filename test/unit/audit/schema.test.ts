import { describe, expect, it } from "vitest";
import { verifyChain } from "../../../src/audit/record.js";
import { parseAuditLine, parseAuditRecord, parseQuietRuns } from "../../../src/audit/schema.js";
import { chainWithSecond, MALFORMED, READABLE } from "../../support/audit.js";

describe("an audit record is checked field by field", () => {
  it.each(MALFORMED)("verify names a sealed record with %s, at its line and field", (_name, edit, path) => {
    const { text, head } = chainWithSecond(edit);
    const verdict = verifyChain(text, head);
    expect(verdict).toMatchObject({ ok: false, line: 2, reason: expect.stringContaining(`not an audit record (${path}: `) });
  });

  it.each(MALFORMED)("a reader skips a record with %s", (_name, edit) => {
    const { lines } = chainWithSecond(edit);
    expect(lines.map((l) => parseAuditLine(l)?.runId)).toEqual(["run-1", undefined, "run-3"]);
  });

  it.each(READABLE)("%s: verifies, and reads back exactly as written", (_name, edit) => {
    const { text, head, lines } = chainWithSecond(edit);
    expect(verifyChain(text, head)).toMatchObject({ ok: true, records: 3 });
    expect(parseAuditLine(lines[1] as string)).toEqual(JSON.parse(lines[1] as string));
  });

  it("a record of another schema version is named as such, not as damaged", () => {
    const { text, head } = chainWithSecond((b) => {
      b.v = 2;
      delete b.held;
    });
    expect(verifyChain(text, head)).toMatchObject({ ok: false, line: 2, reason: "unknown schema version 2" });
    expect(parseAuditRecord({ v: 2 })).toMatchObject({ ok: false, version: 2 });
  });

  it("an own __proto__ field slipped into a sealed line is an edit: the seal is checked over the line, not the schema's copy", () => {
    const { lines, head } = chainWithSecond(() => undefined);
    const edited = (lines[1] as string).replace(/^\{/, '{"__proto__":{"forced":true},');
    expect(parseAuditLine(edited)).toBeDefined();
    const verdict = verifyChain(`${[lines[0], edited, lines[2]].join("\n")}\n`, head);
    expect(verdict).toMatchObject({ ok: false, line: 2, reason: expect.stringContaining("the record was edited") });
  });
});

describe("the .quiet file", () => {
  it.each([
    ["missing", undefined, 0],
    ["empty", "", 0],
    ["not JSON", "{afterSeq: 3", 0],
    ["JSON null", "null", 0],
    ["a list", "[3, 2]", 0],
    ["about another record", '{"afterSeq":4,"count":2}', 0],
    ["afterSeq as text", '{"afterSeq":"3","count":2}', 0],
    ["count missing", '{"afterSeq":3}', 0],
    ["count negative", '{"afterSeq":3,"count":-1}', 0],
    ["count a fraction", '{"afterSeq":3,"count":1.5}', 0],
    ["count as text", '{"afterSeq":3,"count":"2"}', 0],
    ["as written", '{"afterSeq":3,"count":2}\n', 2],
    ["with a field a newer version adds", '{"afterSeq":3,"count":2,"since":"t"}', 2],
  ])("%s: counts %i quiet runs after record 3 (anything unusable counts as none)", (_name, text, expected) => {
    expect(parseQuietRuns(text, 3)).toBe(expected);
  });
});
