import { describe, expect, it } from "vitest";
import { exitCodeOf, type RunResult } from "../../../src/model/result.js";
import { renderRunText, renderStatusText } from "../../../src/cli/render/run.js";
import type { InstanceDrift, StatusReport } from "../../../src/model/status.js";
import { runResult } from "../../support/results.js";

function result(overrides: Partial<RunResult> = {}): RunResult {
  return runResult({
    dryRun: true,
    desired: { count: 2, digest: "sha256:0123456789abcdef0123" },
    sources: [{ name: "travis-dns", type: "dns", status: "ok", count: 2, durationMs: 1 }],
    ...overrides,
  });
}

describe("renderRunText", () => {
  it("prints a terraform-style plan", () => {
    const text = renderRunText(result());
    expect(text).toContain("Desired set: 2 entries (sha256:0123456789ab…) from travis-dns (2)");
    expect(text).toContain(
      "unix:///run/haproxy/admin.sock (HAProxy 2.6.12): planned\n  + 34.66.25.221/32\n  - 104.154.113.151/32\n  1 to add, 1 to remove, 1 unchanged, 3 foreign entries untouched",
    );
    expect(text).toContain("Dry run: nothing was changed.");
  });

  it("says where a failed instance was left", () => {
    const failed = result({
      dryRun: false,
      exitCode: 1,
      instances: [
        {
          target: "tcp://h:9999",
          status: "failed",
          add: [],
          remove: [],
          pendingRemoval: [],
          error: "tcp://h:9999: cannot connect",
          state: "unchanged (nothing was written)",
        },
      ],
    });
    expect(renderRunText(failed)).toMatch(/error: tcp:\/\/h:9999: cannot connect\n {2}left: unchanged \(nothing was written\)/);
  });

  it.each([
    [
      "E_ALERT_TIMEOUT",
      "delivery still under way at the run's deadline (runTimeout 5m)",
      "Alert not delivered: E_ALERT_TIMEOUT: delivery still under way at the run's deadline (runTimeout 5m)",
    ],
    ["E_ALERT_HTTP", "webhook http://h/***: HTTP 500: oops", "Alert not delivered: E_ALERT_HTTP: webhook http://h/***: HTTP 500: oops"],
    [
      "E_ALERT_NETWORK",
      "slack http://h/***: network error (ECONNREFUSED)",
      "Alert not delivered: E_ALERT_NETWORK: slack http://h/***: network error (ECONNREFUSED)",
    ],
  ] as const)("shows an undelivered alert with its code (%s)", (errorCode, error, line) => {
    const alerts = [{ sink: "webhook http://h/***", event: "held", phase: "firing", ok: false, error, errorCode }];
    expect(renderRunText(result({ dryRun: false, alerts })).split("\n")).toContain(line);
  });

  it("cuts long lists and points to JSON", () => {
    const add = Array.from({ length: 60 }, (_, i) => `34.66.0.${i}/32`);
    const base = result();
    const text = renderRunText(result({ instances: [{ ...(base.instances[0] as RunResult["instances"][number]), add }] }));
    expect(text).toContain("+ … (+10 more; --output json lists all)");
  });
});

describe("exitCodeOf", () => {
  it.each([
    ["in sync", { instances: [] }, true, 0],
    ["planned, no detailed exit code", {}, false, 0],
    ["planned with detailed exit code", {}, true, 2],
    ["held", { held: { guard: "maxRemovals", message: "m", trips: [] } }, true, 3],
    ["failed wins over held", { held: { guard: "g", message: "m", trips: [] }, error: { code: "E_INTERNAL", message: "m" } }, true, 1],
  ] as const)("%s", (_name, overrides, detailed, expected) => {
    expect(exitCodeOf(result(overrides as Partial<RunResult>), detailed)).toBe(expected);
  });
});

describe("renderStatusText", () => {
  const drift = (target: string, overrides: Partial<InstanceDrift> = {}): InstanceDrift => ({
    target,
    haproxyVersion: "2.6.12",
    liveCount: 44,
    ownedCount: 43,
    foreignCount: 1,
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
  });

  it("groups instances in the same state", () => {
    const report: StatusReport = {
      version: 1,
      desired: { count: 43, digest: "sha256:0123456789abcdef0123" },
      sources: [],
      instances: [
        drift("tcp://10.0.0.1:9999"),
        drift("tcp://10.0.0.2:9999", { inSync: false, missing: ["34.66.25.221/32"], ownedCount: 42 }),
        drift("tcp://10.0.0.3:9999"),
      ],
      flaps: {},
      stateNotice: null,
      inSync: false,
      error: null,
      exitCode: 2,
    };
    const text = renderStatusText(report);
    expect(text).toContain("2 instances: tcp://10.0.0.1:9999, tcp://10.0.0.3:9999\n  HAProxy 2.6.12, 44 live entries (43 owned, 1 foreign)\n  in sync");
    expect(text).toContain(
      "tcp://10.0.0.2:9999\n  HAProxy 2.6.12, 44 live entries (42 owned, 1 foreign)\n  out of sync: 1 missing, 0 to remove\n  missing 34.66.25.221/32",
    );
    expect(text).toContain("Not in sync.");
  });
});
