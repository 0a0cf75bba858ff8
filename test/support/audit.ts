import { AUDIT_SCHEMA, type AuditBody, type AuditHead, sealRecord, serialise } from "../../src/audit/record.js";

/** A plausible record body for tests that exercise the chain, not the run. */
export function auditBodyFixture(overrides: Partial<AuditBody> = {}): AuditBody {
  return {
    v: AUDIT_SCHEMA,
    time: "2026-11-26T18:00:00.000Z",
    runId: "run-1",
    event: "applied",
    actor: { user: "ops", host: "bastion", trigger: "manual" },
    toolVersion: "0.1.0",
    configDigest: "sha256:cfg",
    forced: false,
    noGrace: false,
    stateNotice: null,
    sources: [{ name: "travis-dns", type: "dns", status: "ok", count: 2, digest: "sha256:src", durationMs: 3, error: null }],
    desired: { count: 2, digest: "sha256:desired" },
    instances: [
      {
        target: "unix:///run/haproxy/admin.sock",
        haproxyVersion: "2.6.12",
        add: ["35.192.85.2/32"],
        remove: ["104.154.113.151/32"],
        outcome: "applied",
        pendingRemoval: [],
        committedVersion: 3,
        error: null,
        left: null,
      },
    ],
    held: null,
    error: null,
    unfinishedIntent: null,
    ...overrides,
  };
}

export type Json = Record<string, unknown>;
const at = (value: unknown, ...path: Array<string | number>): Json => path.reduce<Json>((v, key) => v[key] as Json, value as Json);

/**
 * Three records whose second body is edited before it is sealed: the chain
 * and every hash are intact, so only the record's shape can be wrong.
 */
export function chainWithSecond(edit: (body: Json) => void): { text: string; head: AuditHead; lines: string[] } {
  let head: AuditHead | null = null;
  let text = "";
  for (let i = 1; i <= 3; i++) {
    const body = JSON.parse(JSON.stringify(auditBodyFixture({ runId: `run-${i}` }))) as Json;
    if (i === 2) edit(body);
    const record = sealRecord(body as never, head);
    text += serialise(record);
    head = { seq: record.seq, hash: record.hash };
  }
  return { text, head: head as AuditHead, lines: text.trimEnd().split("\n") };
}

const EXPOSURE = { address: "10.0.0.1", entry: "10.0.0.0/8", value: "travis", owner: "self", reason: "too-broad" };

/** Fields this version reads (render, explain, heartbeat, verify), missing or of the wrong type. */
export const MALFORMED: Array<[name: string, edit: (body: Json) => void, path: string]> = [
  ["held missing", (b) => delete b.held, "held"],
  ["error missing", (b) => delete b.error, "error"],
  ["forced missing", (b) => delete b.forced, "forced"],
  ["noGrace missing", (b) => delete b.noGrace, "noGrace"],
  ["unfinishedIntent missing", (b) => delete b.unfinishedIntent, "unfinishedIntent"],
  ["runId missing", (b) => delete b.runId, "runId"],
  ["forced not a boolean", (b) => (b.forced = "yes"), "forced"],
  ["held a string", (b) => (b.held = "maxRemovals"), "held"],
  ["error without a message", (b) => (b.error = { code: "E_HAPROXY_COMMIT" }), "error.message"],
  ["error code free text", (b) => (b.error = { code: "commit failed", message: "m" }), "error.code"],
  ["error code a number", (b) => (b.error = { code: 42, message: "m" }), "error.code"],
  ["quietRuns negative", (b) => (b.quietRuns = -1), "quietRuns"],
  ["an event no version writes", (b) => (b.event = "deleted"), "event"],
  ["actor trigger unknown", (b) => (at(b, "actor").trigger = "cron"), "actor.trigger"],
  ["instance add not a list", (b) => (at(b, "instances", 0).add = "35.192.85.2/32"), "instances.0.add"],
  ["instance outcome missing", (b) => delete at(b, "instances", 0).outcome, "instances.0.outcome"],
  ["instance pendingRemoval missing", (b) => delete at(b, "instances", 0).pendingRemoval, "instances.0.pendingRemoval"],
  ["exposure owner unknown", (b) => (at(b, "instances", 0).exposures = [{ ...EXPOSURE, owner: "nobody" }]), "instances.0.exposures.0.owner"],
  ["source digest a number", (b) => (at(b, "sources", 0).digest = 7), "sources.0.digest"],
  ["desired count missing", (b) => delete at(b, "desired").count, "desired.count"],
  ["where an instance was left in words only this version does not write", (b) => (at(b, "instances", 0).left = "half-applied"), "instances.0.left"],
];

/** What other versions may write, which this one must still read and verify. */
export const READABLE: Array<[name: string, edit: (body: Json) => void]> = [
  ["a field a newer version adds", (b) => (b.cluster = { name: "edge", region: "eu" })],
  ["fields a newer version adds inside objects and lists", (b) => ((at(b, "actor").uid = 1000), (at(b, "instances", 0).note = "x"))],
  ["a code retired since it was written", (b) => (b.error = { code: "E_RETIRED_SINCE", message: "m" })],
  [
    "where an instance was left, in the words earlier versions wrote",
    (b) => (delete at(b, "instances", 0).left, (at(b, "instances", 0).state = "unchanged (not committed)")),
  ],
  [
    "every optional field",
    (b) => ((b.quietRuns = 3), (b.reviewedPlan = { digest: "sha256:p", createdAt: "t" }), (at(b, "instances", 0).exposures = [EXPOSURE])),
  ],
];
