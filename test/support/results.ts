import type { InstanceResult, RunResult } from "../../src/model/result.js";
import type { InstanceDrift } from "../../src/model/status.js";

/** A run result for tests of what consumes results (rendering, alerts). */
export function runResult(overrides: Partial<RunResult> = {}): RunResult {
  return {
    version: 1,
    runId: "run-1",
    dryRun: false,
    startedAt: "2026-11-26T00:00:00.000Z",
    durationMs: 1,
    desired: { count: 55, digest: "sha256:0123456789abcdef0123" },
    sources: [{ name: "travis-dns", type: "dns", status: "ok", count: 55, durationMs: 1 }],
    instances: [instanceResult()],
    held: null,
    forced: false,
    noGrace: false,
    overridden: [],
    unexpected: [],
    flaps: {},
    stateNotice: null,
    alerts: [],
    error: null,
    outcome: "in-sync",
    ...overrides,
  };
}

export function instanceResult(overrides: Partial<InstanceResult> = {}): InstanceResult {
  return {
    target: "unix:///run/haproxy/admin.sock",
    status: "planned",
    add: ["34.66.25.221/32"],
    remove: ["104.154.113.151/32"],
    pendingRemoval: [],
    error: null,
    haproxyVersion: "2.6.12",
    ownedCount: 2,
    foreignCount: 3,
    ...overrides,
  };
}

/** One instance of a status report, in sync unless told otherwise. */
export function instanceDrift(overrides: Partial<InstanceDrift> = {}): InstanceDrift {
  return {
    target: "tcp://10.0.0.1:9999",
    haproxyVersion: "2.6.12",
    liveCount: 2,
    ownedCount: 2,
    foreignCount: 0,
    missing: [],
    remove: [],
    unexpected: [],
    vanished: [],
    duplicates: [],
    exposures: [],
    pendingRemoval: [],
    inSync: true,
    error: null,
    ...overrides,
  };
}
