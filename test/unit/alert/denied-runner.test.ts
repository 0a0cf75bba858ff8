import { describe, expect, it } from "vitest";
import { alertEvents } from "../../../src/alert/events.js";
import { planAlerts } from "../../../src/alert/lifecycle.js";
import { alertmanagerPayload, slackPayload } from "../../../src/alert/payloads.js";
import { type AlertState, emptyAlertState } from "../../../src/model/alerts.js";
import type { Denial } from "../../../src/model/denials.js";
import { runResult } from "../../support/results.js";

const T0 = Date.parse("2026-11-26T18:00:00.000Z");
const HOUR = 3_600_000;
const A = "unix:///run/a.sock";
const B = "unix:///run/b.sock";

function runner(address: string, over: Partial<Denial> = {}): Denial {
  return {
    address,
    requests: 3,
    lastSeen: "2026-11-26T17:59:00.000Z",
    reason: "held",
    detail: "published by travis-dns (nat.travisci.net); run run-1 planned to add it and was held by guard maxAdditions: 2 additions exceed the limit of 1",
    runId: "run-1",
    instances: [
      { target: A, requests: 2, lastSeen: "2026-11-26T17:59:00.000Z", admitted: false },
      { target: B, requests: 1, lastSeen: "2026-11-26T17:58:00.000Z", admitted: true },
    ],
    current: true,
    ...over,
  };
}

const withRunners = (runners: Denial[]) => runResult({ denied: { runners, counts: [] } });

/** One run at `at` ms after T0: the messages it sends and the state it leaves. */
function runAt(at: number, previous: AlertState, runners: Denial[]) {
  const now = new Date(T0 + at);
  const plan = planAlerts(previous, alertEvents(withRunners(runners), ["denied-runner"], now), {
    now,
    repeatIntervalMs: 4 * HOUR,
    judged: true,
    runId: `run-${at}`,
  });
  return { phases: plan.messages.map((m) => [m.event, m.phase]), plan, next: plan.next };
}

describe("alert denied-runner", () => {
  it("is raised for the runners a run found turned away, about their addresses, naming counts, reason and the instances still denying them", () => {
    const [event] = alertEvents(withRunners([runner("34.66.25.221")]), ["denied-runner"], new Date(T0));
    expect(event).toMatchObject({ event: "denied-runner", severity: "warning", conditions: [{ target: "", about: ["34.66.25.221"] }] });
    expect(event?.deniedRunners).toEqual([
      { address: "34.66.25.221", requests: 3, lastSeen: "2026-11-26T17:59:00.000Z", reason: "held", detail: runner("x").detail, runId: "run-1", targets: [A] },
    ]);
    expect(event?.summary).toMatch(
      /^1 published address\(es\) denied by HAProxy, runners turned away: 34\.66\.25\.221 \(held, 3 requests, last 2026-11-26T17:59:00\.000Z\)/,
    );
  });

  it("is not raised without runners, nor without haproxy.denials, nor when alerts.on leaves it out", () => {
    expect(alertEvents(withRunners([]), ["denied-runner"], new Date(T0))).toEqual([]);
    expect(alertEvents(runResult(), ["denied-runner"], new Date(T0))).toEqual([]);
    expect(alertEvents(withRunners([runner("34.66.25.221")]), ["held"], new Date(T0))).toEqual([]);
  });

  it("starts, stays quiet while the same runners are denied, tells a new address at once, reminds after repeatInterval, and resolves once none is denied", () => {
    const started = runAt(0, emptyAlertState(), [runner("34.66.25.221")]);
    expect(started.phases).toEqual([["denied-runner", "firing"]]);

    // More requests from the same runner are not news.
    const same = runAt(60_000, started.next, [runner("34.66.25.221", { requests: 40 })]);
    expect(same.phases).toEqual([]);
    expect(same.plan.suppressed).toMatchObject([{ event: "denied-runner", nextReminder: "2026-11-26T22:00:00.000Z" }]);

    const grew = runAt(120_000, same.next, [runner("34.66.25.221"), runner("35.188.0.9", { reason: "stale" })]);
    expect(grew.phases).toEqual([["denied-runner", "firing"]]);

    expect(runAt(120_000 + 4 * HOUR - 1, grew.next, [runner("34.66.25.221")]).phases).toEqual([]);
    const reminded = runAt(120_000 + 4 * HOUR, grew.next, [runner("34.66.25.221")]);
    expect(reminded.phases).toEqual([["denied-runner", "reminder"]]);

    const resolved = runAt(5 * HOUR, reminded.next, []);
    expect(resolved.phases).toEqual([["denied-runner", "resolved"]]);
    expect(resolved.next.firing).toEqual({});
  });

  it("has its own title in Slack and its own alertname in Alertmanager, the addresses in an annotation", () => {
    const { plan } = runAt(0, emptyAlertState(), [runner("34.66.25.221")]);
    expect(JSON.stringify(slackPayload({ ...plan.messages[0]!, phase: "firing" }))).toContain("travis-allowlist: Published runners denied");
    const [alert] = alertmanagerPayload(plan, new Date(T0), HOUR);
    expect(alert).toMatchObject({
      labels: { alertname: "TravisAllowlistDeniedRunner", event: "denied-runner", instance: "" },
      annotations: { about: "34.66.25.221" },
    });
  });
});
