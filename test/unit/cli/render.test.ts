import { describe, expect, it } from "vitest";
import { parseCidr } from "../../../src/model/cidr.js";
import type { RunResult } from "../../../src/model/result.js";
import { renderRunText, renderStatusText, type ShownRun } from "../../../src/cli/render/run.js";
import type { InstanceDrift, StatusReport } from "../../../src/model/status.js";
import { evaluateGuards } from "../../../src/plan/guards.js";
import type { InstancePlan } from "../../../src/plan/plan.js";
import { instanceDrift, instanceResult, runResult } from "../../support/results.js";

function result(overrides: Partial<ShownRun> = {}): ShownRun {
  const { exitCode = 0, ...rest } = overrides;
  const shown = runResult({
    dryRun: true,
    desired: { count: 2, digest: "sha256:0123456789abcdef0123" },
    sources: [{ name: "travis-dns", type: "dns", status: "ok", count: 2, durationMs: 1 }],
    ...rest,
  });
  return { ...shown, exitCode };
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

  it("says where a failed instance was left, and with which code it failed", () => {
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
          errorCode: "E_HAPROXY_CONNECT",
          state: "unchanged (nothing was written)",
        },
      ],
    });
    expect(renderRunText(failed)).toMatch(/error E_HAPROXY_CONNECT: tcp:\/\/h:9999: cannot connect\n {2}left: unchanged \(nothing was written\)/);
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
    const alerts = [{ sink: "webhook http://h/***", event: "held" as const, phase: "firing" as const, ok: false, error, errorCode }];
    expect(renderRunText(result({ dryRun: false, alerts })).split("\n")).toContain(line);
  });

  it("cuts long lists and points to JSON", () => {
    const add = Array.from({ length: 60 }, (_, i) => `34.66.0.${i}/32`);
    const base = result();
    const text = renderRunText(result({ instances: [{ ...(base.instances[0] as RunResult["instances"][number]), add }] }));
    expect(text).toContain("+ … (+10 more; --output json lists all)");
  });
});

/** Real guard trips: two instances over maxRemovals, and new entries outside `expected`. */
function trips(force: boolean) {
  const plan = (target: string): { target: string; plan: InstancePlan } => ({
    target,
    plan: {
      add: ["8.8.8.8/32"],
      remove: ["34.66.0.1/32", "34.66.0.2/32"],
      removeEntries: [],
      rewrite: [],
      supersede: [],
      ownedCount: 3,
      foreignCount: 0,
      kept: [],
      content: [],
    },
  });
  const verdict = evaluateGuards({
    desiredCount: 2,
    plans: [plan("tcp://a:9999"), plan("tcp://b:9999")],
    settings: { minEntries: 1, maxAddresses: 65_536, maxAdditions: { count: 10 }, maxRemovals: { count: 1 }, expected: ["34.0.0.0/8"] },
    force,
  });
  const summary = (list: typeof verdict.holds) => list.map(({ guard, message, target }) => ({ guard, message, ...(target ? { target } : {}) }));
  return { holds: summary(verdict.holds), overridden: summary(verdict.overridden) };
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe("renderRunText: guards and reviewed plans", () => {
  it("a held run gives the approval advice once, under all its guards", () => {
    const { holds } = trips(false);
    expect(holds).toHaveLength(3);
    const text = renderRunText(result({ exitCode: 3, held: { guard: "expected", message: holds[0]!.message, trips: holds } }));
    expect(count(text, "approve exactly this change")).toBe(1);
    expect(text).toContain(
      "Check the Travis IP page, then approve exactly this change: travis-allowlist sync --dry-run --plan-out FILE, then sync --plan FILE",
    );
    expect(text).toMatch(/\n {2}expected: 1 new entries outside the expected ranges \(34\.0\.0\.0\/8\): 8\.8\.8\.8\/32; add them to guards\.expected\n/);
    expect(text).toMatch(/\n {2}maxRemovals: would remove 2 of 3 owned entries \(67%\) on tcp:\/\/b:9999, limit 1: 34\.66\.0\.1\/32, 34\.66\.0\.2\/32\n/);
  });

  it("a run also held by a guard no approval sets aside (maxAddresses) gives no approval advice", () => {
    const wide = (text: string) => {
      const parsed = parseCidr(text);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.cidr;
    };
    const verdict = evaluateGuards({
      desiredCount: 2,
      desiredEntries: [wide("34.66.0.0/16"), wide("35.1.0.0/16")],
      plans: [],
      settings: { minEntries: 1, maxAddresses: 65_536, maxAdditions: { count: 10 }, maxRemovals: { count: 1 } },
      force: false,
    });
    const holds = verdict.holds.map(({ guard, message }) => ({ guard, message }));
    const text = renderRunText(result({ exitCode: 3, held: { guard: "maxAddresses", message: holds[0]!.message, trips: [...holds, ...trips(false).holds] } }));
    expect(text).toContain("\n  maxAddresses: the 2 desired entries together admit 131072 IPv4 addresses, more than 65536 (guards.maxAddresses)");
    expect(text).not.toContain("approve exactly this change");
    const saved = renderRunText(result({ exitCode: 3, held: { guard: "maxAddresses", message: holds[0]!.message, trips: holds } }), {
      path: "p.json",
      digest: "sha256:ab",
    });
    expect(saved).toContain(
      "Plan saved to p.json (sha256:ab): applying it would be held again, since no approval sets aside maxAddresses; fix what it names first",
    );
  });

  it("a held dry run saved with --plan-out names the file, its sha256 and `sync --plan FILE`, not another --plan-out", () => {
    const { holds } = trips(false);
    const held = result({ exitCode: 3, held: { guard: "expected", message: holds[0]!.message, trips: holds } });
    const digest = `sha256:${"ab".repeat(32)}`;
    const text = renderRunText(held, { path: "/tmp/held.plan.json", digest });
    expect(text).toContain(
      `Plan saved to /tmp/held.plan.json (${digest}): check the Travis IP page, then approve exactly this change: travis-allowlist sync --plan /tmp/held.plan.json\nDry run: nothing was changed.`,
    );
    expect(text).not.toContain("--plan-out");
    expect(renderRunText(result(), { path: "p.json", digest })).toContain(
      `Plan saved to p.json (${digest}): review it, then apply exactly it: travis-allowlist sync --plan p.json`,
    );
  });

  it("--force lists the guards it set aside without advice to approve them", () => {
    const { overridden } = trips(true);
    const text = renderRunText(result({ dryRun: false, forced: true, overridden }));
    expect(text).toContain("Forced: these guards were set aside by --force:\n  expected: 1 new entries");
    expect(text).not.toContain("approve exactly this change");
    expect(count(text, "maxRemovals: would remove")).toBe(2);
  });

  it("a reviewed plan names the guards reviewed with it, and says nothing of guards when none was held", () => {
    const reviewedPlan = { createdAt: "2026-11-26T00:00:00.000Z", digest: `sha256:${"cd".repeat(32)}` };
    const plain = renderRunText(result({ dryRun: false, reviewedPlan }));
    expect(plain).toContain(`\nReviewed plan of 2026-11-26T00:00:00.000Z (${reviewedPlan.digest}).\n`);
    expect(plain).not.toContain("guards were reviewed");
    const { overridden } = trips(true);
    const reviewed = renderRunText(result({ dryRun: false, reviewedPlan, overridden }));
    expect(reviewed).toContain(`(${reviewedPlan.digest}); these guards were reviewed with it:\n  expected: 1 new entries`);
    expect(reviewed).not.toContain("approve exactly this change");
  });

  it("marks a pending removal with ?, not terraform's ~ (changed in place) nor - (removed now)", () => {
    const pendingRemoval = [{ entry: "35.192.85.2/32", removeAt: "2026-11-26T18:00:00.000Z" }];
    const text = renderRunText(result({ instances: [instanceResult({ add: [], remove: [], pendingRemoval })] }));
    expect(text.split("\n")).toContain("  ? 35.192.85.2/32 (absent upstream; kept until 2026-11-26T18:00:00.000Z)");
    expect(text).not.toMatch(/^\s+[~-] /m);
  });
});

describe("renderStatusText", () => {
  const drift = (target: string, overrides: Partial<InstanceDrift> = {}): InstanceDrift =>
    instanceDrift({ liveCount: 44, ownedCount: 43, foreignCount: 1, ...overrides, target });

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
      outcome: "drifted",
    };
    const text = renderStatusText(report);
    expect(text).toContain("2 instances: tcp://10.0.0.1:9999, tcp://10.0.0.3:9999\n  HAProxy 2.6.12, 44 live entries (43 owned, 1 foreign)\n  in sync");
    expect(text).toContain(
      "tcp://10.0.0.2:9999\n  HAProxy 2.6.12, 44 live entries (42 owned, 1 foreign)\n  out of sync: 1 missing, 0 to remove\n  missing 34.66.25.221/32",
    );
    expect(text).toContain("Not in sync.");
  });
});
