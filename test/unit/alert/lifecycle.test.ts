import { describe, expect, it } from "vitest";
import { alertEvents } from "../../../src/alert/events.js";
import { planAlerts } from "../../../src/alert/lifecycle.js";
import { type AlertState, emptyAlertState } from "../../../src/model/alerts.js";
import type { GuardName } from "../../../src/model/guards.js";
import type { RunResult } from "../../../src/model/result.js";
import { instanceResult, runResult } from "../../support/results.js";

const T0 = new Date("2026-11-26T18:00:00.000Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const HOUR = 3_600_000;

const failedOn = (...targets: string[]): RunResult =>
  runResult({ outcome: "failed", instances: targets.map((target) => instanceResult({ target, status: "failed", error: "cannot connect" })) });
const heldBy = (guard: GuardName): RunResult =>
  runResult({ outcome: "held", held: { guard, message: `${guard}: …`, trips: [] }, instances: [instanceResult({ status: "held" })] });

function run(previous: AlertState, result: RunResult, now: Date, judged = true) {
  return planAlerts(previous, alertEvents(result, ["held", "failed", "changed"], now), { now, repeatIntervalMs: 4 * HOUR, judged, runId: result.runId });
}

describe("planAlerts", () => {
  it("a condition is sent when it starts, suppressed while it lasts, reminded after repeatInterval", () => {
    const first = run(emptyAlertState(), failedOn("tcp://a:1"), at(0));
    expect(first.messages.map((m) => m.phase)).toEqual(["firing"]);
    const second = run(first.next, failedOn("tcp://a:1"), at(10));
    expect(second.messages).toEqual([]);
    expect(second.suppressed).toEqual([{ event: "failed", target: "tcp://a:1", lastSent: at(0).toISOString(), nextReminder: at(240).toISOString() }]);
    expect(run(second.next, failedOn("tcp://a:1"), at(240)).messages.map((m) => m.phase)).toEqual(["reminder"]);
  });

  it("another instance failing while one already fails is news: the event is sent again", () => {
    const first = run(emptyAlertState(), failedOn("tcp://a:1"), at(0));
    const second = run(first.next, failedOn("tcp://a:1", "tcp://b:1"), at(10));
    expect(second.messages.map((m) => [m.phase, m.instances.map((i) => i.target)])).toEqual([["firing", ["tcp://a:1", "tcp://b:1"]]]);
    expect(second.next.firing["failed|tcp://a:1|"]?.since).toBe(at(0).toISOString());
  });

  it("a hold under another guard is a new condition; the old one ends", () => {
    const first = run(emptyAlertState(), heldBy("maxRemovals"), at(0));
    const second = run(first.next, heldBy("expected"), at(10));
    expect(second.messages.map((m) => [m.event, m.phase])).toEqual([
      ["held", "firing"],
      ["held", "resolved"],
    ]);
    expect(second.resolved.map((r) => r.guard)).toEqual(["maxRemovals"]);
  });

  it("a run that could not judge (its sources failed) ends nothing but failures", () => {
    const held = run(emptyAlertState(), heldBy("maxRemovals"), at(0));
    const blind = run(held.next, failedOn("tcp://a:1"), at(10), false);
    expect(blind.resolved).toEqual([]);
    expect(Object.keys(blind.next.firing).sort()).toEqual(["failed|tcp://a:1|", "held|unix:///run/haproxy/admin.sock|maxRemovals"]);
  });

  it("only the instances an event is about are its conditions: a healthy instance is never in `failed`", () => {
    const mixed = runResult({
      outcome: "failed",
      instances: [instanceResult({ target: "tcp://ok:1", status: "in-sync" }), instanceResult({ target: "tcp://down:1", status: "failed", error: "refused" })],
    });
    const plan = run(emptyAlertState(), mixed, at(0));
    expect(plan.messages[0]?.instances.map((i) => i.target)).toEqual(["tcp://down:1"]);
    expect(Object.keys(plan.next.firing)).toEqual(["failed|tcp://down:1|"]);
  });

  it("changed is news every time and never fires", () => {
    const changed = runResult({ instances: [instanceResult({ status: "applied" })] });
    const first = run(emptyAlertState(), changed, at(0));
    expect(run(first.next, changed, at(10)).messages.map((m) => [m.event, m.phase])).toEqual([["changed", "firing"]]);
    expect(first.next.firing).toEqual({});
  });
});

describe("planAlerts for chat sinks that refused a message", () => {
  const withUnsent = (state: AlertState, key: string, unsent: { phase: "firing" | "reminder" | "resolved"; sinks: string[] }, ended?: string): AlertState => {
    const alert = state.firing[key];
    if (!alert) throw new Error(`no ${key} in the state`);
    return { version: 1, firing: { ...state.firing, [key]: { ...alert, unsent, ...(ended ? { ended } : {}) } } };
  };

  it.each([
    ["a start", "firing"],
    ["a reminder", "reminder"],
  ] as const)("%s is sent again to the sinks that refused it, and the others stay quiet", (_name, phase) => {
    const first = run(emptyAlertState(), failedOn("tcp://a:1"), at(0));
    const refused = withUnsent(first.next, "failed|tcp://a:1|", { phase, sinks: ["slack https://hooks.slack.com/***"] });
    const second = run(refused, failedOn("tcp://a:1"), at(10));
    expect(second.messages.map((m) => [m.phase, m.sinks])).toEqual([[phase, ["slack https://hooks.slack.com/***"]]]);
    expect(second.next.firing["failed|tcp://a:1|"]).toMatchObject({ lastSent: at(0).toISOString(), unsent: { phase } });
  });

  it("a reminder that falls due goes to every sink, whatever was unsent", () => {
    const first = run(emptyAlertState(), failedOn("tcp://a:1"), at(0));
    const refused = withUnsent(first.next, "failed|tcp://a:1|", { phase: "firing", sinks: ["webhook http://127.0.0.1:1/"] });
    const due = run(refused, failedOn("tcp://a:1"), at(240));
    expect(due.messages.map((m) => [m.phase, m.sinks])).toEqual([["reminder", undefined]]);
    expect(due.next.firing["failed|tcp://a:1|"]?.unsent).toBeUndefined();
  });

  it("an end a sink refused is told again to that sink alone, and the condition does not start again", () => {
    const first = run(emptyAlertState(), failedOn("tcp://a:1"), at(0));
    const ended = withUnsent(first.next, "failed|tcp://a:1|", { phase: "resolved", sinks: ["webhook http://127.0.0.1:1/"] }, at(10).toISOString());
    const next = run(ended, runResult({}), at(20));
    expect(next.messages.map((m) => [m.phase, m.sinks])).toEqual([["resolved", ["webhook http://127.0.0.1:1/"]]]);
    expect(next.next.firing).toEqual({});
    // A sink that refuses an end for a whole day is not asked again, and the condition is forgotten.
    const dayLater = run(ended, runResult({}), at(10 + 24 * 60 + 1));
    expect(dayLater.messages).toEqual([]);
    expect(dayLater.resolved).toEqual([]);
  });
});
