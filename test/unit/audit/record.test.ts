import { describe, expect, it } from "vitest";
import { outcomeEvent } from "../../../src/audit/body.js";
import { canonicalJson } from "../../../src/util/canonical.js";
import { type AuditBody, type AuditHead, type AuditRecord, GENESIS, sealHead, sealRecord, serialise, verifyChain } from "../../../src/audit/record.js";
import { renderAuditLine } from "../../../src/audit/render.js";
import { auditBodyFixture } from "../../support/audit.js";
import { instanceResult } from "../../support/results.js";

function chain(
  n: number,
  keyOf: (i: number) => string | undefined = () => undefined,
  start: { text: string; head: AuditHead | null } = { text: "", head: null },
): { text: string; head: AuditHead } {
  let head: AuditHead | null = start.head;
  let text = start.text;
  for (let i = 0; i < n; i++) {
    const record = sealRecord(auditBodyFixture({ runId: `run-${(head?.seq ?? 0) + 1}` }), head, keyOf(i));
    text += serialise(record);
    // The head file as AuditTrail writes it: sealed with the key of the record it names.
    head = sealHead({ seq: record.seq, hash: record.hash }, keyOf(i));
  }
  return { text, head: head as AuditHead };
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

describe("canonicalJson", () => {
  it("sorts keys at every level and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  });
});

describe("the hash chain", () => {
  it("links each record to the one before it", () => {
    const first = sealRecord(auditBodyFixture(), null);
    const second = sealRecord(auditBodyFixture(), { seq: first.seq, hash: first.hash });
    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(second.hash).not.toBe(first.hash);
  });

  it("an intact chain verifies", () => {
    const { text, head } = chain(5);
    expect(verifyChain(text, head)).toEqual({ ok: true, records: 5, head });
    expect(verifyChain("", null)).toEqual({ ok: true, records: 0, head: null });
  });

  it.each([
    ["an edited value", (l: string[]) => [l[0], (l[1] as string).replace("35.192.85.2/32", "35.192.85.3/32"), ...l.slice(2)], 2, "edited"],
    ["an edited event", (l: string[]) => [l[0], l[1], (l[2] as string).replace('"event":"applied"', '"event":"in-sync"'), ...l.slice(3)], 3, "edited"],
    ["a deleted line", (l: string[]) => [l[0], ...l.slice(2)], 2, "deleted"],
    ["two swapped lines", (l: string[]) => [l[0], l[2], l[1], ...l.slice(3)], 2, "moved"],
    [
      "a re-sealed edit (hash recomputed by the editor)",
      (l: string[]) => {
        const edited = JSON.parse(l[1] as string) as Record<string, unknown>;
        edited.runId = "forged";
        const { hash: _hash, seq: _seq, prevHash, ...body } = edited as { hash: string; seq: number; prevHash: string };
        const forged = sealRecord(body as never, { seq: 1, hash: prevHash });
        return [l[0], canonicalJson(forged), ...l.slice(2)];
      },
      3,
      "deleted, inserted or moved",
    ],
    ["garbage", (l: string[]) => [l[0], "{not json", ...l.slice(2)], 2, "not a JSON record"],
  ])("detects %s", (_name, tamper, line, reason) => {
    const { text, head } = chain(5);
    const verdict = verifyChain(`${tamper(lines(text)).join("\n")}\n`, head);
    expect(verdict).toMatchObject({ ok: false, line, reason: expect.stringContaining(reason) });
  });

  it("detects a last line cut short", () => {
    const { text, head } = chain(3);
    const verdict = verifyChain(text.slice(0, text.length - 40), head);
    expect(verdict).toMatchObject({ ok: false, line: 3, reason: expect.stringContaining("incomplete last record") });
  });

  it("detects whole records removed from the end through the head", () => {
    const { text, head } = chain(4);
    const verdict = verifyChain(`${lines(text).slice(0, 3).join("\n")}\n`, head);
    expect(verdict).toMatchObject({ ok: false, reason: expect.stringContaining("head file records 4") });
  });

  it("a missing head is reported", () => {
    expect(verifyChain(chain(2).text, null)).toMatchObject({ ok: false, reason: expect.stringContaining("head file is missing") });
  });
});

describe("the keyed (HMAC-SHA256) chain", () => {
  const KEY = "a-key-from-a-kubernetes-secret";
  const OTHER = "another-key-someone-else-holds";
  const keyed = () => chain(3, () => KEY);

  it("verifies with its key, and says from which record it is keyed", () => {
    const { text, head } = keyed();
    expect(verifyChain(text, head, { key: KEY })).toEqual({ ok: true, records: 3, head: { seq: head.seq, hash: head.hash }, keyedFrom: 1 });
  });

  it.each([
    ["without the key", undefined, 1, "needs audit.key"],
    ["with another key", OTHER, 1, "sealed with another key"],
  ])("fails %s, naming the first record", (_name, key, line, reason) => {
    const { text, head } = keyed();
    expect(verifyChain(text, head, key === undefined ? {} : { key })).toMatchObject({ ok: false, line, reason: expect.stringContaining(reason) });
  });

  it("tells a missing key apart from a wrong one: only the first says nothing can be known", () => {
    const { text, head } = keyed();
    expect(verifyChain(text, head)).toMatchObject({ ok: false, keyMissing: true });
    expect(verifyChain(text, head, { key: OTHER })).not.toHaveProperty("keyMissing");
  });

  it("an edited record whose chain was recomputed without the key fails", () => {
    const { text } = keyed();
    const [first] = lines(text);
    const edited = JSON.parse(first as string) as AuditRecord;
    edited.instances[0]!.add = ["0.0.0.0/1"];
    const { hash: _old, ...unsealed } = edited;
    const forged = { ...unsealed, hash: `hmac-sha256:${"0".repeat(64)}` };
    const rest = chain(2, () => OTHER, { text: serialise(forged), head: { seq: 1, hash: forged.hash } });
    expect(verifyChain(rest.text, rest.head, { key: KEY })).toMatchObject({ ok: false, line: 1 });
  });

  it.each([
    ["sealed with another key", () => OTHER, "sealed with another key"],
    ["without any key", () => undefined, "a record without a key after keyed records"],
  ])("a record appended %s after keyed ones is caught", (_name, keyOf, reason) => {
    const forged = chain(1, keyOf, keyed());
    expect(verifyChain(forged.text, forged.head, { key: KEY })).toMatchObject({ ok: false, line: 4, reason: expect.stringContaining(reason) });
  });

  it("with a key configured, a trail with no keyed record is not verified", () => {
    const { text, head } = chain(2);
    expect(verifyChain(text, head, { key: KEY })).toMatchObject({ ok: false, reason: expect.stringContaining("no record is keyed") });
    expect(verifyChain(text, head)).toMatchObject({ ok: true });
  });

  it("a keyless beginning before the key was adopted is accepted, keyed from the first keyed record", () => {
    const mixed = chain(2, () => KEY, chain(2));
    expect(verifyChain(mixed.text, mixed.head, { key: KEY })).toMatchObject({ ok: true, keyedFrom: 3 });
  });

  describe("records deleted from the end", () => {
    const shortened = () => {
      const { text } = keyed();
      const kept = lines(text).slice(0, 2);
      const last = JSON.parse(kept[1] as string) as AuditRecord;
      return { text: `${kept.join("\n")}\n`, tip: { seq: last.seq, hash: last.hash } };
    };

    it("with the head rewritten to match, unsealed, fail: the head of a keyed trail must carry the key's seal", () => {
      const { text, tip } = shortened();
      expect(verifyChain(text, tip, { key: KEY })).toMatchObject({
        ok: false,
        reason: expect.stringContaining("the head file is not sealed with audit.key though the trail is keyed"),
      });
    });

    it("with the head rewritten and sealed with another key, fail", () => {
      const { text, tip } = shortened();
      expect(verifyChain(text, sealHead(tip, OTHER), { key: KEY })).toMatchObject({
        ok: false,
        reason: expect.stringContaining("the head file's seal does not match audit.key"),
      });
    });

    it("with the sealed head left as it was, fail as removed from the end", () => {
      const { text } = shortened();
      expect(verifyChain(text, keyed().head, { key: KEY })).toMatchObject({
        ok: false,
        reason: expect.stringContaining("the chain ends at record 2 but the head file records 3 (records were removed from the end)"),
      });
    });

    it("a sealed head one record behind (a crash before the head moved) still verifies", () => {
      const { text } = keyed();
      const second = JSON.parse(lines(text)[1] as string) as AuditRecord;
      expect(verifyChain(text, sealHead({ seq: 2, hash: second.hash }, KEY), { key: KEY })).toMatchObject({ ok: true, records: 3 });
    });
  });

  it("a keyless trail's head needs no seal, as before", () => {
    const { text, head } = chain(3);
    expect(head.seal).toBeUndefined();
    expect(verifyChain(text, head)).toMatchObject({ ok: true, records: 3 });
  });

  it("an anchor kept elsewhere catches a trail rewritten with the key itself", () => {
    const original = keyed();
    const anchor = { seq: 2, hash: (JSON.parse(lines(original.text)[1] as string) as AuditRecord).hash };
    expect(verifyChain(original.text, original.head, { key: KEY, anchor })).toMatchObject({ ok: true });
    // The key holder writes a different history: intact by itself, but not the anchored one.
    // Re-sealed as this version writes bodies: with this version's codes.
    const changed = lines(original.text).map((l) => JSON.parse(l) as AuditBody & Pick<AuditRecord, "seq" | "prevHash" | "hash">);
    changed.forEach((r) => (r.time = "2026-12-01T00:00:00.000Z"));
    let head: AuditHead | null = null;
    let text = "";
    for (const r of changed) {
      const { hash: _h, seq: _s, prevHash: _p, ...body } = r;
      const sealed = sealRecord(body, head, KEY);
      text += serialise(sealed);
      head = sealHead({ seq: sealed.seq, hash: sealed.hash }, KEY);
    }
    expect(verifyChain(text, head, { key: KEY })).toMatchObject({ ok: true });
    expect(verifyChain(text, head, { key: KEY, anchor })).toMatchObject({ ok: false, line: 2, reason: expect.stringContaining("anchored digest") });
    expect(verifyChain(text, head, { key: KEY, anchor: { seq: 9, hash: anchor.hash } })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("does not have"),
    });
  });
});

describe("outcomeEvent", () => {
  it.each([
    [{ outcome: "applied", held: null, instances: [instanceResult({ status: "applied" })] }, "applied"],
    [{ outcome: "in-sync", held: null, instances: [instanceResult({ status: "in-sync" })] }, "in-sync"],
    [{ outcome: "held", held: { guard: "g", message: "m", trips: [] }, instances: [] }, "held"],
    [{ outcome: "failed", held: { guard: "g", message: "m", trips: [] }, instances: [] }, "failed"],
  ] as const)("%j → %s", (result, event) => {
    expect(outcomeEvent(result as never)).toBe(event);
  });
});

describe("renderAuditLine", () => {
  it("shows when, what, who, counts and first entries", () => {
    const record = sealRecord(auditBodyFixture({ actor: { user: "ops", host: "bastion", pod: "ta-123", namespace: "edge", trigger: "scheduled" } }), null);
    expect(renderAuditLine(record)).toBe(
      `#1  2026-11-26T18:00:00.000Z  applied   ops@bastion pod edge/ta-123 (scheduled)  +1/-1  on unix:///run/haproxy/admin.sock: +35.192.85.2/32, -104.154.113.151/32  run run-1`,
    );
  });

  it("names the instance of each change: alike instances together, one that differs apart with its outcome", () => {
    const instance = auditBodyFixture().instances[0]!;
    const record = sealRecord(
      auditBodyFixture({
        event: "failed",
        actor: { user: "ops", host: "bastion", trigger: "restart" },
        instances: [
          { ...instance, target: "tcp://10.0.0.1:9999", outcome: "failed" },
          { ...instance, target: "tcp://10.0.0.2:9999", add: ["35.192.85.2/32"], remove: [], outcome: "applied" },
          { ...instance, target: "tcp://10.0.0.3:9999", outcome: "failed" },
          { ...instance, target: "tcp://10.0.0.4:9999", add: [], remove: [], outcome: "in-sync" },
        ],
      }),
      null,
    );
    expect(renderAuditLine(record)).toBe(
      "#1  2026-11-26T18:00:00.000Z  failed    ops@bastion (restart)  +1/-1  " +
        "on tcp://10.0.0.1:9999, tcp://10.0.0.3:9999: +35.192.85.2/32, -104.154.113.151/32; on tcp://10.0.0.2:9999 (applied): +35.192.85.2/32  run run-1",
    );
  });
});

describe("a head that lags", () => {
  it("one record behind the chain (a crash after the append) still verifies; a rewritten end does not", () => {
    const { text } = chain(3);
    const lines = text.split("\n").filter((l) => l !== "");
    const second = JSON.parse(lines[1] as string) as { seq: number; hash: string };
    expect(verifyChain(text, { seq: second.seq, hash: second.hash })).toMatchObject({ ok: true, records: 3 });
    expect(verifyChain(text, { seq: 2, hash: GENESIS })).toMatchObject({ ok: false, reason: expect.stringContaining("rewritten") });
  });
});
