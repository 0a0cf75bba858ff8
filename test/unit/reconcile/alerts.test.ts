import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { AlertDelivery } from "../../../src/model/result.js";
import { sendAlerts } from "../../../src/reconcile/alerts.js";
import { testConfig } from "../../support/config.js";
import { instanceResult, runResult } from "../../support/results.js";

const NOW = new Date("2026-11-26T18:00:00.000Z");
const SINKS = [
  { type: "webhook", url: "http://127.0.0.1:9/hook", timeoutMs: 1000 },
  { type: "slack", url: "http://127.0.0.1:9/services/T0/B0/X", timeoutMs: 1000 },
];
const config = testConfig({
  staticEntries: ["34.66.25.221"],
  sockets: ["unix:///run/haproxy/admin.sock"],
  map: "/tmp/allowlist.map",
  extra: { alerts: { on: ["held"], sinks: SINKS } },
});
const held = runResult({
  outcome: "held",
  held: { guard: "maxRemovals", message: "maxRemovals: would remove 23 of 39 owned entries", trips: [] },
  instances: [instanceResult({ status: "held" })],
});
const silent = pino({ level: "silent" });

describe("sendAlerts: what the result says about each delivery", () => {
  it.each([
    [
      "still under way at the run's deadline",
      () => new Promise<AlertDelivery[]>(() => undefined),
      [
        {
          sink: "webhook http://127.0.0.1:9/hook",
          ok: false,
          errorCode: "E_ALERT_TIMEOUT",
          error: expect.stringContaining("still under way at the run's deadline"),
        },
        {
          sink: "slack http://127.0.0.1:9/services/***",
          ok: false,
          errorCode: "E_ALERT_TIMEOUT",
          error: expect.stringContaining("still under way at the run's deadline"),
        },
      ],
    ],
    [
      "reported by the notifier",
      () =>
        Promise.resolve<AlertDelivery[]>([
          { sink: "webhook x", event: "held", phase: "firing", ok: false, error: "webhook x: HTTP 500", errorCode: "E_ALERT_HTTP" },
          { sink: "slack y", event: "held", phase: "firing", ok: true, error: null },
        ]),
      [
        { sink: "webhook x", ok: false, errorCode: "E_ALERT_HTTP", error: "webhook x: HTTP 500" },
        { sink: "slack y", ok: true, error: null },
      ],
    ],
  ])("a delivery %s carries its code apart from its message", async (_name, notify, expected) => {
    const { alerts } = await sendAlerts(held, config, { notifier: { notify } }, silent, () => NOW, Date.now() + 50);
    expect(alerts).toEqual(expected.map((e) => ({ event: "held", phase: "firing", ...e })));
    // The message is free text for people; the code alone says what happened.
    for (const a of alerts) expect(a.error ?? "").not.toMatch(/^E_/);
  });
});
