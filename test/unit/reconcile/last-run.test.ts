import { describe, expect, it } from "vitest";
import { MAX_DENIED_CLIENTS } from "../../../src/haproxy/table-read.js";
import { type LastRun, RunMemory } from "../../../src/reconcile/last-run.js";

/** A run whose tables listed `unpublished`, of them `before` denied before the run began. */
function run(unpublished: string[], before: string[] = []): LastRun {
  return {
    at: new Date("2026-12-07T10:00:00Z"),
    known: { published: [], live: [], held: null, removals: [], admissions: [], exclude: [] },
    targets: ["unix:///run/haproxy/admin.sock"],
    seen: new Set(before),
    unpublished: new Set(unpublished),
  };
}

describe("what the daemon remembers between runs", () => {
  it("knows nothing until a run has read the tables", () => {
    expect(new RunMemory().lastRun).toBeUndefined();
  });

  it("takes an unpublished client as seen only when it was denied before the run asked its sources", () => {
    const memory = new RunMemory();
    // Denied first while the first run was going: it may be a runner published since the run asked.
    memory.keep(run(["127.0.0.77", "127.0.0.99"], ["127.0.0.99"]));
    expect([...(memory.lastRun?.seen ?? [])]).toEqual(["127.0.0.99"]);
    // A look sees it denied; the sync it starts finds it still unpublished: from then on it is seen.
    memory.looked(["127.0.0.77"]);
    memory.keep(run(["127.0.0.77", "127.0.0.30"]));
    expect([...(memory.lastRun?.seen ?? [])]).toEqual(["127.0.0.77"]);
    // Once published, it is no more among the unpublished, and so not seen.
    memory.keep(run(["127.0.0.30"]));
    expect([...(memory.lastRun?.seen ?? [])]).toEqual([]);
  });

  it("remembers no more clients between runs than one run keeps, however many looks see new ones", () => {
    const memory = new RunMemory();
    const many = Array.from({ length: MAX_DENIED_CLIENTS + 10 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    memory.looked(many.slice(0, MAX_DENIED_CLIENTS / 2));
    memory.looked(many.slice(MAX_DENIED_CLIENTS / 2));
    memory.keep(run(many));
    expect(memory.lastRun?.seen.size).toBe(MAX_DENIED_CLIENTS);
  });

  it("forgets what the looks saw once a run has judged it", () => {
    const memory = new RunMemory();
    memory.looked(["127.0.0.30"]);
    memory.keep(run([]));
    memory.keep(run(["127.0.0.30"]));
    expect([...(memory.lastRun?.seen ?? [])]).toEqual([]);
  });
});
