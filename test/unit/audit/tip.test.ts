import { describe, expect, it } from "vitest";
import { type AuditHead, type AuditRecord, sealHead, sealRecord } from "../../../src/audit/record.js";
import { type HeadFound, tipFailure } from "../../../src/audit/tip.js";
import { auditBodyFixture } from "../../support/audit.js";

const KEY = "a-key-from-a-kubernetes-secret";

/** Records 1..n sealed in a chain, with `key` when given. */
function records(n: number, key?: string): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const previous = out.at(-1);
    out.push(sealRecord(auditBodyFixture({ runId: `run-${i + 1}` }), previous ? { seq: previous.seq, hash: previous.hash } : null, key));
  }
  return out;
}

const headOf = (record: AuditRecord, key?: string): HeadFound => ({ kind: "head", head: sealHead({ seq: record.seq, hash: record.hash }, key) });
const head = (h: AuditHead): HeadFound => ({ kind: "head", head: h });

describe("tipFailure: may the trail be extended from its last record?", () => {
  const plain = records(3);
  const keyed = records(3, KEY);
  const [first, second, third] = [plain[0]!, plain[1]!, plain[2]!];

  it.each<[string, AuditRecord | undefined, HeadFound, string | undefined]>([
    ["a new trail: no records, no head", undefined, { kind: "missing" }, undefined],
    ["a new keyed trail", undefined, { kind: "missing" }, KEY],
    ["the head names the last record", third, headOf(third), undefined],
    ["the head one behind (killed between the append and the head's move)", third, headOf(second), undefined],
    ["a keyed head, sealed, naming the last record", keyed[2], headOf(keyed[2]!, KEY), KEY],
    ["a keyed head one behind", keyed[2], headOf(keyed[1]!, KEY), KEY],
    ["an unsealed head on an unkeyed trail that takes the key from its next record", third, headOf(third), KEY],
  ])("accepts %s", (_name, last, found, key) => {
    expect(tipFailure(last, found, key)).toBeUndefined();
  });

  it.each<[string, AuditRecord | undefined, HeadFound, string | undefined, string]>([
    [
      "records cut from the end, the head kept",
      first,
      headOf(third),
      undefined,
      "the trail ends at record 1 but the head file records 3: records were removed from the end",
    ],
    ["records cut, the head deleted", first, { kind: "missing" }, undefined, "the head file is missing though the trail has 1 record(s)"],
    ["records cut, a keyed trail's head deleted", keyed[0], { kind: "missing" }, KEY, "the head file is missing"],
    ["the head replaced by a symlink", third, { kind: "symlink" }, undefined, "the head file is a symlink"],
    ["a head that is not one", third, { kind: "invalid", reason: "the head file /x.head is not valid JSON" }, undefined, "/x.head is not valid JSON"],
    ["the trail emptied, the head kept", undefined, headOf(third), undefined, "the trail has no records but the head file records #3"],
    ["a keyed trail cut, its head rewritten without a seal", keyed[0], headOf(keyed[0]!), KEY, "not sealed with audit.key though the trail is keyed"],
    ["a keyed trail's head sealed with another key", keyed[2], headOf(keyed[2]!, "another-key"), KEY, "seal does not match audit.key"],
    ["a last record the head does not name", third, head({ seq: 3, hash: first.hash }), undefined, "record 3 is not the record the head file names (#3)"],
    ["records added after the head without moving it", third, headOf(first), undefined, "record 3 is not the record the head file names (#1)"],
  ])("refuses %s, saying which", (_name, last, found, key, reason) => {
    expect(tipFailure(last, found, key)).toContain(reason);
  });
});
