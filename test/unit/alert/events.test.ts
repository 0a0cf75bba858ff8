import { describe, expect, it } from "vitest";
import { alertEvents } from "../../../src/alert/events.js";
import { planAlerts } from "../../../src/alert/lifecycle.js";
import { emptyAlertState } from "../../../src/model/alerts.js";
import { alertmanagerPayload, slackPayload, webhookPayload } from "../../../src/alert/payloads.js";
import { instanceResult, runResult } from "../../support/results.js";

const NOW = new Date("2026-11-26T18:00:00.000Z");
const ALL = ["held", "failed", "unexpected", "changed"] as const;

describe("alertEvents", () => {
  it.each([
    { name: "in sync raises nothing", result: runResult({ instances: [instanceResult({ status: "in-sync", add: [], remove: [] })] }), events: [] },
    { name: "applied raises changed", result: runResult({ instances: [instanceResult({ status: "applied" })] }), events: ["changed"] },
    {
      name: "held raises held",
      result: runResult({
        outcome: "held",
        held: { guard: "maxRemovals", message: "maxRemovals: would remove…", trips: [] },
        instances: [instanceResult({ status: "held" })],
      }),
      events: ["held"],
    },
    {
      name: "held by expected raises held and unexpected",
      result: runResult({
        outcome: "held",
        held: { guard: "expected", message: "expected: …", trips: [] },
        unexpected: ["8.8.8.0/24"],
        instances: [instanceResult({ status: "held" })],
      }),
      events: ["held", "unexpected"],
    },
    {
      name: "forced past expected raises unexpected and changed",
      result: runResult({ forced: true, unexpected: ["8.8.8.0/24"], instances: [instanceResult({ status: "applied", add: ["8.8.8.0/24"] })] }),
      events: ["unexpected", "changed"],
    },
    {
      name: "a failed instance raises failed (and changed for the others)",
      result: runResult({
        outcome: "failed",
        instances: [
          instanceResult({ status: "failed", error: "boom", state: "unchanged (not committed)" }),
          instanceResult({ target: "tcp://h:1", status: "applied" }),
        ],
      }),
      events: ["failed", "changed"],
    },
  ])("$name", ({ result, events }) => {
    expect(alertEvents(result, [...ALL], NOW).map((e) => e.event)).toEqual(events);
  });

  it("filters by alerts.on", () => {
    const result = runResult({ instances: [instanceResult({ status: "applied" })] });
    expect(alertEvents(result, ["held", "failed"], NOW)).toEqual([]);
  });

  it("says what happened, with counts, first entries and the runId", () => {
    const add = Array.from({ length: 12 }, (_, i) => `34.66.0.${i}/32`);
    const [event] = alertEvents(runResult({ runId: "abc", instances: [instanceResult({ status: "applied", add, remove: [] })] }), ["changed"], NOW);
    expect(event).toMatchObject({
      event: "changed",
      severity: "info",
      runId: "abc",
      time: NOW.toISOString(),
      counts: { add: 12, remove: 0 },
      entries: { add: add.slice(0, 10), remove: [] },
    });
    expect(event?.summary).toBe(
      "applied +12/-0 on 1 instance(s): +34.66.0.0/32, +34.66.0.1/32, +34.66.0.2/32, +34.66.0.3/32, +34.66.0.4/32, … (+7 more) (run abc)",
    );
  });

  it("a failure summary names each instance and where it was left", () => {
    const result = runResult({
      outcome: "failed",
      instances: [instanceResult({ status: "failed", error: "tcp://h:1: cannot connect", state: "unchanged (nothing was written)" })],
    });
    expect(alertEvents(result, ["failed"], NOW)[0]?.summary).toContain(
      "1 of 1 instances failed: unix:///run/haproxy/admin.sock: tcp://h:1: cannot connect (left: unchanged (nothing was written))",
    );
  });
});

describe("payloads", () => {
  const [held] = alertEvents(
    runResult({
      outcome: "held",
      held: { guard: "maxRemovals", message: "maxRemovals: would remove 23 of 39", trips: [] },
      instances: [instanceResult({ status: "held" })],
    }),
    ["held"],
    NOW,
  );
  if (!held) throw new Error("no event");

  it("slack: a text fallback and blocks", () => {
    const payload = slackPayload(held) as { text: string; blocks: Array<{ type: string }> };
    expect(payload.text).toBe(`travis-allowlist held: ${held.summary}`);
    expect(payload.blocks.map((b) => b.type)).toEqual(["header", "section", "section", "context"]);
    expect(JSON.stringify(payload.blocks)).toContain("`+34.66.25.221/32`");
  });

  it("webhook: the documented body", () => {
    expect(webhookPayload(held)).toEqual({
      version: 1,
      source: "travis-allowlist",
      phase: "firing",
      event: "held",
      severity: "warning",
      summary: held.summary,
      runId: "run-1",
      time: NOW.toISOString(),
      dryRun: false,
      forced: false,
      guard: "maxRemovals",
      desired: { count: 55, digest: "sha256:0123456789abcdef0123" },
      counts: { add: 1, remove: 1 },
      entries: { add: ["34.66.25.221/32"], remove: ["104.154.113.151/32"] },
      unexpected: [],
      flaps: {},
      instances: [{ target: "unix:///run/haproxy/admin.sock", status: "held", add: 1, remove: 1, error: null }],
      conditions: [{ target: "unix:///run/haproxy/admin.sock", about: [], count: 0 }],
    });
  });

  it("alertmanager: each firing condition ends a few periods ahead, an ended one ends now", () => {
    const first = planAlerts(emptyAlertState(), [held], { now: NOW, repeatIntervalMs: 4 * 3_600_000, judged: true, runId: "run-1" });
    const later = new Date(NOW.getTime() + 600_000);
    const cleared = planAlerts(first.next, [], { now: later, repeatIntervalMs: 4 * 3_600_000, judged: true, runId: "run-2" });
    const labels = {
      alertname: "TravisAllowlistHeld",
      severity: "warning",
      instance: "unix:///run/haproxy/admin.sock",
      service: "travis-allowlist",
      event: "held",
    };
    expect(alertmanagerPayload(first, NOW, 1_800_000)).toEqual([
      {
        labels,
        annotations: { summary: held.summary, description: `unix:///run/haproxy/admin.sock: ${held.summary}` },
        startsAt: NOW.toISOString(),
        endsAt: new Date(NOW.getTime() + 1_800_000).toISOString(),
      },
    ]);
    expect(alertmanagerPayload(cleared, later, 1_800_000)).toEqual([
      {
        labels,
        annotations: { summary: held.summary, description: `unix:///run/haproxy/admin.sock: ${held.summary}` },
        startsAt: NOW.toISOString(),
        endsAt: later.toISOString(),
      },
    ]);
  });
});
