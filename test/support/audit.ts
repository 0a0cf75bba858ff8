import { AUDIT_SCHEMA, type AuditBody } from "../../src/audit/record.js";

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
        state: null,
      },
    ],
    held: null,
    error: null,
    unfinishedIntent: null,
    ...overrides,
  };
}
