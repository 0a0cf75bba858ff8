import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { Denial, RunDenials } from "../../../src/model/denials.js";
import type { DenialLook } from "../../../src/model/denials.js";
import { DENIAL_SYNC_GAP_MS, Scheduler, type TickReason } from "../../../src/daemon/scheduler.js";
import { until } from "../../support/wait.js";

const A = "unix:///run/haproxy/admin.sock";
const schedulers: Scheduler[] = [];
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.stop()));
});

const RUNNER: Denial = {
  address: "34.66.25.221",
  requests: 3,
  lastSeen: "2026-11-26T18:00:00.000Z",
  reason: "stale",
  detail: "published by travis-dns (nat.travisci.net); not live on any of 1 instances",
  runId: null,
  instances: [{ target: A, requests: 3, lastSeen: "2026-11-26T18:00:00.000Z", admitted: false }],
  current: true,
};
const DENIED: RunDenials = { runners: [RUNNER], counts: [{ target: A, reason: "stale", clients: 1, requests: 3 }] };
const CLEAR: RunDenials = { runners: [], counts: [] };

/** A look that judged the tables as `denials`, with no client the last run did not see. */
function judged(denials: RunDenials): DenialLook {
  return { denials, newcomers: [] };
}

/** A scheduler whose schedule is months away, on a clock the test moves, with a denial watch whose looks say what `look()` says. */
function start(look: () => DenialLook | undefined, clock: { now: number }) {
  const reasons: TickReason[] = [];
  const looks: RunDenials[] = [];
  let looked = 0;
  const scheduler = new Scheduler({
    schedule: "0 0 1 1 *",
    periodMs: 366 * 86_400_000,
    jitterMs: 0,
    random: () => 0,
    retryMs: 3_600_000,
    ready: () => true,
    onRestart: () => {},
    logger: pino({ level: "silent" }),
    now: () => new Date(clock.now),
    run: (_signal, reason) => Promise.resolve(void reasons.push(reason)),
    denialWatch: { intervalMs: 5, look: () => Promise.resolve((looked++, look())) },
    onDenials: (denials) => looks.push(denials),
  });
  schedulers.push(scheduler);
  scheduler.start();
  return { reasons, looks, looked: () => looked };
}

describe("the scheduler's denial watch", () => {
  it("a denied runner starts a sync at once, then at most one per DENIAL_SYNC_GAP_MS however many looks see it", async () => {
    const clock = { now: Date.parse("2026-11-26T18:00:00.000Z") };
    let tables = CLEAR;
    const s = start(() => judged(tables), clock);
    await until(() => s.reasons.length === 1, "the first run");
    tables = DENIED;
    await until(() => s.reasons.length === 2, "a sync for the denied runner");
    expect(s.reasons).toEqual(["start", "denial"]);

    const after = s.looked();
    clock.now += DENIAL_SYNC_GAP_MS - 1;
    await until(() => s.looked() >= after + 20, "twenty more looks that see the runner");
    expect(s.reasons).toEqual(["start", "denial"]);

    clock.now += 1;
    await until(() => s.reasons.length === 3, "the next minute's sync");
    expect(s.reasons).toEqual(["start", "denial", "denial"]);
    expect(s.looks.at(-1)).toEqual(DENIED);
  });

  it("clients that are no runners (unpublished, or admitted since) start nothing, and every look still goes to the gauges", async () => {
    const clock = { now: Date.parse("2026-11-26T18:00:00.000Z") };
    const tables: RunDenials = { runners: [], counts: [{ target: A, reason: "unpublished", clients: 4, requests: 40 }] };
    const s = start(() => judged(tables), clock);
    await until(() => s.looks.length >= 10, "ten looks");
    expect(s.reasons).toEqual(["start"]);
    expect(s.looks.at(-1)).toEqual(tables);
  });

  it("a client the last run did not see starts a sync on the same terms as a runner: at once, then at most one per DENIAL_SYNC_GAP_MS", async () => {
    const clock = { now: Date.parse("2026-11-26T18:00:00.000Z") };
    let newcomers: string[] = [];
    const s = start(() => ({ denials: CLEAR, newcomers }), clock);
    await until(() => s.reasons.length === 1, "the first run");
    newcomers = ["34.66.25.222"];
    await until(() => s.reasons.length === 2, "a sync to learn whether a source publishes it now");
    const after = s.looked();
    clock.now += DENIAL_SYNC_GAP_MS - 1;
    await until(() => s.looked() >= after + 20, "twenty more looks that see it");
    expect(s.reasons).toEqual(["start", "denial"]);
    clock.now += 1;
    await until(() => s.reasons.length === 3, "the next minute's sync");
    expect(s.reasons).toEqual(["start", "denial", "denial"]);
  });

  it("a look with nothing to judge by (no run has read the tables yet) starts nothing and leaves the gauges alone", async () => {
    const clock = { now: Date.parse("2026-11-26T18:00:00.000Z") };
    const s = start(() => undefined, clock);
    await until(() => s.looked() >= 10, "ten looks");
    expect(s.reasons).toEqual(["start"]);
    expect(s.looks).toEqual([]);
  });
});
