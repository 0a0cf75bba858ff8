import { describe, expect, it } from "vitest";
import { alertEvents } from "../../../src/alert/events.js";
import { planAlerts } from "../../../src/alert/lifecycle.js";
import { alertmanagerPayload, webhookPayload } from "../../../src/alert/payloads.js";
import { type AlertEventName, type AlertState, emptyAlertState } from "../../../src/model/alerts.js";
import type { RunResult } from "../../../src/model/result.js";
import { instanceResult, runResult } from "../../support/results.js";

const T0 = new Date("2026-11-26T18:00:00.000Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const REPEAT_MS = 4 * 3_600_000;
const A = "unix:///run/haproxy/admin.sock";
const B = "tcp://127.0.0.1:9999";

/** A run that found these owned entries nobody planned (and removed them). */
const drift = (addresses: string[], target = A): RunResult =>
  runResult({
    instances: [instanceResult({ target, status: "applied", add: [], remove: addresses.map((a) => `${a}/32`), unexpected: addresses.map((a) => `${a}/32`) })],
  });
/** A run whose matcher check found these excluded addresses still admitted by a foreign entry. */
const exposure = (addresses: string[]): RunResult =>
  runResult({
    instances: [
      instanceResult({
        status: "in-sync",
        add: [],
        remove: [],
        exposures: addresses.map((address) => ({ address, entry: `${address}/32`, value: "office", owner: "foreign" as const, reason: "excluded" as const })),
      }),
    ],
  });
/** A run held because these new entries lie outside guards.expected. */
const unexpected = (entries: string[]): RunResult =>
  runResult({
    outcome: "held",
    held: { guard: "expected", message: "expected: new entries outside the expected ranges", trips: [] },
    unexpected: entries.map((e) => `${e}/32`),
    instances: [instanceResult({ status: "held" })],
  });

const scenarios: Record<string, { event: AlertEventName; result: (addresses: string[]) => RunResult; key: string }> = {
  drift: { event: "drift", result: (a) => drift(a), key: `drift|${A}|` },
  exposure: { event: "exposure", result: exposure, key: `exposure|${A}|` },
  unexpected: { event: "unexpected", result: unexpected, key: "unexpected||" },
};

function run(previous: AlertState, event: AlertEventName, result: RunResult, now: Date) {
  return planAlerts(previous, alertEvents(result, [event], now), { now, repeatIntervalMs: REPEAT_MS, judged: true, runId: result.runId });
}

/** Runs at the given minutes, each about its own addresses, each starting from the state the one before left; what the last one sends. */
function lastOf(scenario: keyof typeof scenarios, runs: Array<{ minutes: number; addresses: string[] }>) {
  const { event, result } = scenarios[scenario] as (typeof scenarios)[string];
  let state = emptyAlertState();
  let plan: ReturnType<typeof run> | undefined;
  for (const r of runs) {
    plan = run(state, event, result(r.addresses), at(r.minutes));
    state = plan.next;
  }
  if (!plan) throw new Error("no run");
  return plan;
}

describe("an alert's identity includes what it is about", () => {
  describe.each(Object.keys(scenarios))("%s", (scenario) => {
    const key = (scenarios[scenario] as (typeof scenarios)[string]).key;

    it.each([
      { name: "the same set is suppressed", runs: [["127.0.0.77"], ["127.0.0.77"]], phases: [], suppressed: true },
      { name: "a different member is sent at once", runs: [["127.0.0.77"], ["127.0.0.78"]], phases: ["firing"], suppressed: false },
      { name: "a set that gains a member is sent at once", runs: [["127.0.0.77"], ["127.0.0.77", "127.0.0.78"]], phases: ["firing"], suppressed: false },
      { name: "a set that only shrinks is suppressed", runs: [["127.0.0.77", "127.0.0.78"], ["127.0.0.77"]], phases: [], suppressed: true },
      {
        name: "a member that comes back after a shrink was already sent: suppressed",
        runs: [["127.0.0.77", "127.0.0.78"], ["127.0.0.77"], ["127.0.0.77", "127.0.0.78"]],
        phases: [],
        suppressed: true,
      },
      {
        name: "a new member after a suppressed run is sent at once",
        runs: [["127.0.0.77"], ["127.0.0.77"], ["127.0.0.79"]],
        phases: ["firing"],
        suppressed: false,
      },
    ])("$name", ({ runs, phases, suppressed }) => {
      const plan = lastOf(
        scenario,
        runs.map((addresses, i) => ({ minutes: i * 10, addresses })),
      );
      expect(plan.messages.map((m) => m.phase)).toEqual(phases);
      expect(plan.suppressed.map((s) => s.event)).toEqual(suppressed ? [scenario] : []);
      // However it was told, the condition keeps the time it started.
      expect(plan.next.firing[key]?.since).toBe(T0.toISOString());
    });

    it("an unchanged set is reminded after repeatInterval, not before", () => {
      const same = ["127.0.0.77"];
      expect(
        lastOf(
          scenario,
          [0, 239].map((minutes) => ({ minutes, addresses: same })),
        ).messages,
      ).toEqual([]);
      expect(
        lastOf(
          scenario,
          [0, 240].map((minutes) => ({ minutes, addresses: same })),
        ).messages.map((m) => m.phase),
      ).toEqual(["reminder"]);
    });

    it("the next run compares with what the last message named, Alertmanager hears what this run found", () => {
      const plan = lastOf(scenario, [
        { minutes: 0, addresses: ["127.0.0.77", "127.0.0.78"] },
        { minutes: 10, addresses: ["127.0.0.78"] },
      ]);
      expect(plan.next.firing[key]?.about).toHaveLength(2);
      expect(plan.firing.map((f) => f.about)).toEqual([[expect.stringContaining("127.0.0.78/32")]]);
      expect(plan.next.firing[key]?.lastSent).toBe(T0.toISOString());
    });
  });

  it("a new entry on one instance sends the event, naming every instance it fires on; each instance keeps its own set", () => {
    const both = (onB: string[]): RunResult => runResult({ instances: [...drift(["127.0.0.77"], A).instances, ...drift(onB, B).instances] });
    const first = run(emptyAlertState(), "drift", both(["127.0.0.77"]), at(0));
    const second = run(first.next, "drift", both(["127.0.0.77", "127.0.0.78"]), at(10));
    expect(second.messages.map((m) => [m.phase, m.instances.map((i) => i.target)])).toEqual([["firing", [A, B]]]);
    expect(second.next.firing[`drift|${A}|`]?.about).toEqual(["127.0.0.77/32 never planned"]);
    expect(second.next.firing[`drift|${B}|`]?.about).toEqual(["127.0.0.77/32 never planned", "127.0.0.78/32 never planned"]);
  });

  it("an entry that vanished is a different fact from the same entry appearing", () => {
    const vanished = runResult({ instances: [instanceResult({ status: "applied", add: ["127.0.0.77/32"], remove: [], vanished: ["127.0.0.77/32"] })] });
    const first = run(emptyAlertState(), "drift", drift(["127.0.0.77"]), at(0));
    expect(run(first.next, "drift", vanished, at(10)).messages.map((m) => m.phase)).toEqual(["firing"]);
  });

  it("a condition remembered by an older state file, without what it was about, is sent once more, then suppressed", () => {
    const first = run(emptyAlertState(), "drift", drift(["127.0.0.77"]), at(0));
    const { about: _about, ...older } = first.next.firing[`drift|${A}|`] ?? { about: [] };
    const upgraded = run({ version: 1, firing: { [`drift|${A}|`]: older } } as AlertState, "drift", drift(["127.0.0.77"]), at(10));
    expect(upgraded.messages.map((m) => m.phase)).toEqual(["firing"]);
    expect(run(upgraded.next, "drift", drift(["127.0.0.77"]), at(20)).messages).toEqual([]);
  });

  it("a hold or a failure is about no entries: its state carries no set", () => {
    const plan = run(emptyAlertState(), "held", unexpected(["8.8.8.8"]), at(0));
    expect(plan.next.firing[`held|${A}|expected`]).not.toHaveProperty("about");
  });

  it("the end names what the condition was about", () => {
    const first = run(emptyAlertState(), "drift", drift(["127.0.0.77"]), at(0));
    const cleared = run(first.next, "drift", runResult({ instances: [instanceResult({ status: "in-sync", add: [], remove: [] })] }), at(10));
    expect(cleared.messages.map((m) => [m.phase, m.conditions])).toEqual([["resolved", [{ target: A, about: ["127.0.0.77/32 never planned"] }]]]);
  });
});

describe("what sinks are told about a condition's set", () => {
  it("Alertmanager: the labels stay the same whatever the entries, which go in an annotation", () => {
    const first = run(emptyAlertState(), "drift", drift(["127.0.0.77"]), at(0));
    const second = run(first.next, "drift", drift(["127.0.0.78"]), at(10));
    const [before] = alertmanagerPayload(first, at(0), 1_800_000);
    const [after] = alertmanagerPayload(second, at(10), 1_800_000);
    expect(after?.labels).toEqual(before?.labels);
    expect(after?.labels).toEqual({ alertname: "TravisAllowlistDrift", severity: "warning", instance: A, service: "travis-allowlist", event: "drift" });
    expect(before?.annotations.about).toBe("127.0.0.77/32 never planned");
    expect(after?.annotations.about).toBe("127.0.0.78/32 never planned");
    expect(after?.startsAt).toBe(at(0).toISOString());
  });

  it("Alertmanager: a long set is cut to the first few with how many more", () => {
    const many = Array.from({ length: 25 }, (_, i) => `127.0.1.${i}`);
    const [alert] = alertmanagerPayload(run(emptyAlertState(), "drift", drift(many), at(0)), at(0), 1_800_000);
    expect(alert?.annotations.about).toMatch(/^127\.0\.1\.0\/32 never planned, .* \(\+15 more\)$/);
  });

  it("webhook: each condition with the first ten members and how many there are", () => {
    const many = Array.from({ length: 25 }, (_, i) => `127.0.1.${i}`);
    const [message] = run(emptyAlertState(), "drift", drift(many), at(0)).messages;
    if (!message) throw new Error("no message");
    const body = webhookPayload(message) as { conditions: Array<{ target: string; about: string[]; count: number }> };
    expect(body.conditions).toEqual([{ target: A, about: many.slice(0, 10).map((a) => `${a}/32 never planned`), count: 25 }]);
  });
});
