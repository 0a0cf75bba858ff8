import { describe, expect, it } from "vitest";
import { health, newHistory, readiness, recordRestart, recordRun, type RunHistory } from "../../../src/daemon/health.js";

const START = Date.parse("2026-11-26T18:00:00Z");
const PERIOD = 600_000;
const A = "unix:///run/haproxy/admin.sock";
const B = "tls://10.0.0.6:9999";
const minutes = (n: number) => START + n * 60_000;

const started = newHistory(START);
const succeededAt = (at: number, history: RunHistory = started) => recordRun(history, { succeeded: true, restartsBefore: history.restarts.count, at });

describe("health", () => {
  it.each([
    ["just started, no run yet", started, START, true, "starting: no run has succeeded yet"],
    ["no success, still within three periods of the start", started, minutes(29), true, "starting: no run has succeeded yet"],
    ["no success in three periods since the start", started, minutes(31), false, "no successful run in 1860 s"],
    ["exactly three periods is too old", started, minutes(30), false, "no successful run in 1800 s"],
    ["a recent success", succeededAt(minutes(5)), minutes(7), true, "last success 120 s ago (limit 1800 s)"],
    ["the last success is older than three periods", succeededAt(minutes(5)), minutes(36), false, "last success 1860 s ago (limit 1800 s)"],
    [
      "a failed run after a success changes nothing",
      recordRun(succeededAt(minutes(5)), { succeeded: false, restartsBefore: 0, at: minutes(15) }),
      minutes(7),
      true,
      "last success 120 s ago (limit 1800 s)",
    ],
  ])("%s", (_, history, now, ok, reason) => {
    expect(health(history, PERIOD, now)).toEqual({ ok, reason });
  });
});

describe("readiness", () => {
  const restarted = recordRestart(succeededAt(minutes(5)), [A, B], minutes(6));
  it.each([
    ["no run yet", started, false, "no successful sync yet"],
    ["only failed runs", recordRun(started, { succeeded: false, restartsBefore: 0, at: minutes(1) }), false, "no successful sync yet"],
    ["a success", succeededAt(minutes(5)), true, "synced at 2026-11-26T18:05:00.000Z"],
    [
      "a new process seen before any success",
      recordRestart(started, [A], minutes(1)),
      false,
      `new HAProxy process behind ${A} at 2026-11-26T18:01:00.000Z, not yet synced`,
    ],
    ["a new process seen after the last success", restarted, false, `new HAProxy process behind ${A}, ${B} at 2026-11-26T18:06:00.000Z, not yet synced`],
    [
      "a success of a run that began before the new process was seen",
      recordRun(restarted, { succeeded: true, restartsBefore: 0, at: minutes(7) }),
      false,
      `new HAProxy process behind ${A}, ${B} at 2026-11-26T18:06:00.000Z, not yet synced`,
    ],
    ["a success of a run that began after it", succeededAt(minutes(8), restarted), true, "synced at 2026-11-26T18:08:00.000Z"],
    [
      "a failed run after a success keeps it ready",
      recordRun(succeededAt(minutes(5)), { succeeded: false, restartsBefore: 0, at: minutes(9) }),
      true,
      "synced at 2026-11-26T18:05:00.000Z",
    ],
  ])("%s", (_, history, ok, reason) => {
    expect(readiness(history)).toEqual({ ok, reason });
  });
});
