import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNotifier } from "../../src/alert/notifier.js";
import { literalSecrets } from "../../src/config/redact.js";
import type { Config } from "../../src/config/schema.js";
import { type AlertDelivery, deliveredEvents } from "../../src/model/result.js";
import { alertStatePath, alertStore } from "../../src/state/alert-store.js";
import { StoredNames } from "../../src/state/stored-names.js";
import { Scrubber } from "../../src/util/secrets.js";
import { testConfig } from "../support/config.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { syncOnce } from "../support/reconcile.js";

/** The held run: a new desired set far larger than maxAdditions allows. */
const HELD = ["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24"];

let h: RunningHaproxy;
let slack: HttpReceiver;
let hook: HttpReceiver;
let alertmanager: HttpReceiver;
let clock = new Date("2026-11-26T18:00:00.000Z");

beforeAll(async () => {
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.21/32 travis"] });
  [slack, hook, alertmanager] = await Promise.all([startReceiver([200]), startReceiver([200]), startReceiver([200])]);
});
afterAll(async () => {
  await Promise.all([h.stop(), slack.stop(), hook.stop(), alertmanager.stop()]);
});

function config(entries: string[], on: string[]): Config {
  return testConfig({
    staticEntries: entries,
    sockets: [h.unixTarget],
    map: h.listFile,
    extra: {
      schedule: "*/10 * * * *",
      guards: { maxAdditions: 1 },
      alerts: {
        on,
        repeatInterval: "4h",
        sinks: [
          { type: "slack", url: slack.url, timeoutMs: 2000 },
          { type: "webhook", url: hook.url, timeoutMs: 2000 },
          { type: "alertmanager", url: alertmanager.url, timeoutMs: 2000 },
        ],
      },
    },
  });
}

const timeAt = (minutes: number) => new Date(Date.parse("2026-11-26T18:00:00.000Z") + minutes * 60_000);

async function runAt(minutes: number, entries: string[], on = ["held", "failed"]) {
  clock = timeAt(minutes);
  const c = config(entries, on);
  return syncOnce(
    c,
    {},
    {
      now: () => clock,
      notifier: createNotifier(c.alerts?.sinks ?? [], { backoffMs: 10, now: () => clock, scrubber: new Scrubber(literalSecrets(c)) }),
      alertState: alertStore(join(h.dir), new StoredNames(new Scrubber(literalSecrets(c)), [])),
    },
  );
}

/** The live map as the first run found it, and no alert memory: each test stands alone. */
async function startOver(): Promise<void> {
  await h.command(`clear map ${h.listFile}`);
  await h.command(`add map ${h.listFile} 127.0.0.21/32 travis`);
  await rm(alertStatePath(h.dir), { force: true });
  for (const r of [slack, hook, alertmanager]) r.replies = [200];
}

type AmAlert = { labels: Record<string, string>; startsAt: string; endsAt: string };
const phases = (r: HttpReceiver) =>
  r.requests.map((q) => (q.json as { phase?: string; text?: string }).phase ?? (q.json as { text: string }).text.split(" ")[0]);

describe("alert lifecycle", () => {
  it("a hold that lasts is sent once, reminded after repeatInterval, resolved once; Alertmanager hears it every run with endsAt ahead, then endsAt now", async () => {
    const first = await runAt(0, HELD);
    expect(first.exitCode).toBe(3);
    expect(first.alerts.map((a) => [a.sink.split(" ")[0], a.phase, a.ok])).toEqual([
      ["slack", "firing", true],
      ["webhook", "firing", true],
      ["alertmanager", "firing", true],
    ]);

    // Ten minutes later, still held: nothing new for Slack or the webhook, Alertmanager kept current.
    const second = await runAt(10, HELD);
    expect(second.exitCode).toBe(3);
    expect(second.alerts.map((a) => a.sink.split(" ")[0])).toEqual(["alertmanager"]);
    expect(second.alertsSuppressed).toEqual([
      { event: "held", target: h.unixTarget, lastSent: "2026-11-26T18:00:00.000Z", nextReminder: "2026-11-26T22:00:00.000Z" },
    ]);
    const amSecond = alertmanager.requests[1]?.json as AmAlert[];
    expect(amSecond).toEqual([
      expect.objectContaining({
        labels: expect.objectContaining({ alertname: "TravisAllowlistHeld", instance: h.unixTarget }),
        startsAt: "2026-11-26T18:00:00.000Z",
        // Three schedule periods (10 minutes each) ahead of this run.
        endsAt: "2026-11-26T18:40:00.000Z",
      }),
    ]);

    // Four hours after the first message, a reminder.
    const third = await runAt(240, HELD);
    expect(third.alerts.filter((a) => a.sink.startsWith("slack")).map((a) => a.phase)).toEqual(["reminder"]);

    // Cleared: one resolution each, and Alertmanager's alert ends now.
    const cleared = await runAt(250, ["127.0.0.21"]);
    expect(cleared.exitCode).toBe(0);
    expect(cleared.alerts.map((a) => [a.sink.split(" ")[0], a.phase])).toEqual([
      ["slack", "resolved"],
      ["webhook", "resolved"],
      ["alertmanager", "resolved"],
    ]);
    expect((alertmanager.requests.at(-1)?.json as AmAlert[])[0]).toMatchObject({ startsAt: "2026-11-26T18:00:00.000Z", endsAt: "2026-11-26T22:10:00.000Z" });
    expect(phases(hook)).toEqual(["firing", "reminder", "resolved"]);
    expect((slack.requests.at(-1)?.json as { text: string }).text).toMatch(/^Resolved: travis-allowlist held: resolved: held on unix:/);

    // And once is enough.
    const quiet = await runAt(260, ["127.0.0.21"]);
    expect(quiet.alerts).toEqual([]);
    expect(hook.requests).toHaveLength(3);
  });
});

describe("alert lifecycle when a sink is down", () => {
  it("an alert that did not reach a sink is sent to that sink again next run, and to no other", async () => {
    await startOver();
    slack.replies = [400];
    const failed = await runAt(1000, HELD);
    expect(failed.alerts.filter((a) => a.sink.startsWith("slack")).map((a) => [a.phase, a.ok])).toEqual([["firing", false]]);
    slack.replies = [200];
    const retried = await runAt(1010, HELD);
    expect(retried.alerts.filter((a) => a.sink.startsWith("slack")).map((a) => [a.phase, a.ok])).toEqual([["firing", true]]);
    expect(retried.alerts.filter((a) => a.sink.startsWith("webhook"))).toEqual([]);
    const third = await runAt(1020, HELD);
    expect(third.alerts.map((a) => a.sink.split(" ")[0])).toEqual(["alertmanager"]);
  });
});

describe("alert lifecycle when a chat sink is down as a hold clears", () => {
  it("the end is told again to the sink that refused it, and only to it", async () => {
    await startOver();
    expect((await runAt(3000, HELD)).exitCode).toBe(3);
    hook.replies = [503];
    const webhookBefore = hook.requests.length;
    const slackBefore = slack.requests.length;
    const cleared = await runAt(3010, [...HELD.slice(0, 2)]);
    expect(cleared.alerts.filter((a) => a.phase === "resolved" && !a.sink.startsWith("alertmanager")).map((a) => [a.sink.split(" ")[0], a.ok])).toEqual([
      ["slack", true],
      ["webhook", false],
    ]);
    hook.replies = [200];
    const next = await runAt(3020, [...HELD.slice(0, 2)]);
    expect(next.alerts.filter((a) => !a.sink.startsWith("alertmanager")).map((a) => [a.sink.split(" ")[0], a.phase, a.ok])).toEqual([
      ["webhook", "resolved", true],
    ]);
    expect(slack.requests.length - slackBefore).toBe(1);
    // Three tries (two retries) in the refusing run, one in the next.
    expect(hook.requests.slice(webhookBefore).map((r) => (r.json as { phase: string }).phase)).toEqual(["resolved", "resolved", "resolved", "resolved"]);
    expect(hook.requests.at(-1)?.json).not.toHaveProperty("sinks");
    expect((await runAt(3030, [...HELD.slice(0, 2)])).alerts.filter((a) => !a.sink.startsWith("alertmanager"))).toEqual([]);
  });
});

describe("alert lifecycle when Alertmanager is down as a hold clears", () => {
  it("the end is told to Slack and the webhook once, and to Alertmanager again on the next run until it accepts it", async () => {
    await startOver();
    expect((await runAt(2000, HELD)).exitCode).toBe(3);
    alertmanager.replies = [500];
    const cleared = await runAt(2010, [...HELD.slice(0, 2)]);
    expect(cleared.exitCode).toBe(0);
    expect(cleared.alerts.filter((a) => a.sink.startsWith("alertmanager")).map((a) => a.ok)).toEqual([false]);
    expect(cleared.alerts.filter((a) => a.sink.startsWith("webhook")).map((a) => a.phase)).toEqual(["resolved"]);
    alertmanager.replies = [200];
    const before = alertmanager.requests.length;
    const next = await runAt(2020, [...HELD.slice(0, 2)]);
    expect(next.alerts.map((a) => [a.sink.split(" ")[0], a.phase, a.ok])).toEqual([["alertmanager", "resolved", true]]);
    const resent = alertmanager.requests.slice(before).flatMap((r) => r.json as Array<{ labels: { alertname: string }; endsAt: string }>);
    expect(resent.find((a) => a.labels.alertname === "TravisAllowlistHeld")?.endsAt).toBe("2026-11-28T03:30:00.000Z");
    // Accepted: nothing more.
    expect((await runAt(2030, [...HELD.slice(0, 2)])).alerts).toEqual([]);
  });
});

describe("alert lifecycle when entries are added by hand", () => {
  const SAME = ["127.0.0.21"];
  const handAdd = (address: string) => h.command(`add map ${h.listFile} ${address} travis`);
  const driftRun = (minutes: number) => runAt(minutes, SAME, ["drift"]);
  const chat = (result: { alerts: AlertDelivery[] }) =>
    result.alerts.filter((a) => !a.sink.startsWith("alertmanager")).map((a) => [a.sink.split(" ")[0], deliveredEvents(a).join(","), a.phase, a.ok]);
  const amDrift = () =>
    (alertmanager.requests.at(-1)?.json as Array<AmAlert & { annotations: Record<string, string> }>).find((a) => a.labels.event === "drift");

  it("a drift alert about 127.0.0.77 does not hide a new one about 127.0.0.78; the same entry again is not news; the end is sent once", async () => {
    await startOver();
    // A first run, so that the tool knows what it planned: anything owned it did not plan afterwards is drift.
    expect((await driftRun(4000)).exitCode).toBe(0);

    await handAdd("127.0.0.77");
    const first = await driftRun(4010);
    expect(first.instances[0]).toMatchObject({ status: "applied", remove: ["127.0.0.77/32"], unexpected: ["127.0.0.77/32"] });
    expect(chat(first)).toEqual([
      ["slack", "drift", "firing", true],
      ["webhook", "drift", "firing", true],
    ]);
    const labels = amDrift()?.labels;

    await handAdd("127.0.0.78");
    const second = await driftRun(4020);
    expect(second.instances[0]).toMatchObject({ status: "applied", remove: ["127.0.0.78/32"], unexpected: ["127.0.0.78/32"] });
    expect(await h.statusFrom("127.0.0.78")).toBe(403);
    expect(chat(second)).toEqual([
      ["slack", "drift", "firing", true],
      ["webhook", "drift", "firing", true],
    ]);
    expect(second.alertsSuppressed).toBeUndefined();
    expect(hook.requests.at(-1)?.json).toMatchObject({
      event: "drift",
      phase: "firing",
      summary: expect.stringContaining("127.0.0.78/32"),
      conditions: [{ target: h.unixTarget, about: ["127.0.0.78/32 never planned"], count: 1 }],
    });
    expect((slack.requests.at(-1)?.json as { text: string }).text).toContain("127.0.0.78/32");
    // To Alertmanager it is the same alert, started at the first run: the entry is an annotation, not a label.
    expect(amDrift()).toMatchObject({ labels, startsAt: timeAt(4010).toISOString(), annotations: { about: "127.0.0.78/32 never planned" } });

    const hookBefore = hook.requests.length;
    await handAdd("127.0.0.78");
    const third = await driftRun(4030);
    expect(third.instances[0]).toMatchObject({ status: "applied", unexpected: ["127.0.0.78/32"] });
    expect(chat(third)).toEqual([]);
    expect(third.alertsSuppressed).toEqual([
      { event: "drift", target: h.unixTarget, lastSent: timeAt(4020).toISOString(), nextReminder: timeAt(4260).toISOString() },
    ]);
    expect(hook.requests).toHaveLength(hookBefore);

    const cleared = await driftRun(4040);
    expect(chat(cleared)).toEqual([
      ["slack", "drift", "resolved", true],
      ["webhook", "drift", "resolved", true],
    ]);
    expect(hook.requests.at(-1)?.json).toMatchObject({ phase: "resolved", conditions: [{ target: h.unixTarget, about: ["127.0.0.78/32 never planned"] }] });
    expect(chat(await driftRun(4050))).toEqual([]);
  });
});
