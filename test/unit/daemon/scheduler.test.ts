import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { Scheduler, type SchedulerOptions, type TickReason } from "../../../src/daemon/scheduler.js";
import type { Processes } from "../../../src/daemon/watch.js";
import { until } from "../../support/wait.js";

const A = "unix:///run/haproxy/admin.sock";
const schedulers: Scheduler[] = [];
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.stop()));
});

/** A run the test ends when it chooses. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

function capturedLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: pino({ level: "info" }, stream) };
}

function start(options: Partial<SchedulerOptions> & Pick<SchedulerOptions, "run">): Scheduler {
  const scheduler = new Scheduler({
    // Months away: only the first tick, restarts and retries run.
    schedule: "0 0 1 1 *",
    periodMs: 366 * 86_400_000,
    jitterMs: 0,
    random: () => 0,
    retryMs: 3_600_000,
    ready: () => true,
    onRestart: () => {},
    logger: pino({ level: "silent" }),
    ...options,
  });
  schedulers.push(scheduler);
  scheduler.start();
  return scheduler;
}

describe("the scheduler", () => {
  it("never runs two at once: a tick during a run is skipped, a restart during a run runs once more as soon as it ends", async () => {
    const reasons: TickReason[] = [];
    const gates = [gate(), gate()];
    let running = 0;
    let peak = 0;
    let processes: Processes = new Map([[A, "7@100"]]);
    const restarts: string[][] = [];
    const scheduler = start({
      run: async (_signal, reason) => {
        peak = Math.max(peak, ++running);
        await gates[reasons.push(reason) - 1]?.opened;
        running--;
      },
      watch: { intervalMs: 10, observe: () => Promise.resolve(processes) },
      onRestart: (targets) => restarts.push(targets),
    });
    await until(() => reasons.length === 1, "the first run");
    await scheduler.tick("schedule");
    processes = new Map([[A, "9@160"]]);
    await until(() => restarts.length === 1, "the restart seen");
    expect(reasons).toEqual(["start"]);
    gates[0]?.open();
    await until(() => reasons.length === 2, "the run after the restart");
    gates[1]?.open();
    await scheduler.stop();
    expect(reasons).toEqual(["start", "restart"]);
    expect(restarts).toEqual([[A]]);
    expect(peak).toBe(1);
  });

  it("while not ready, tries a failed run again after retryMs, doubling up to the period", async () => {
    const { lines, logger } = capturedLogs();
    const reasons: TickReason[] = [];
    start({ retryMs: 10, periodMs: 40, ready: () => false, logger, run: (_signal, reason) => Promise.resolve(void reasons.push(reason)) });
    await until(() => reasons.length >= 5, "four retries");
    expect(reasons.slice(0, 5)).toEqual(["start", "retry", "retry", "retry", "retry"]);
    const delays = lines.filter((l) => l.msg === "not ready: the sync failed; trying again soon").map((l) => l.retryInSeconds);
    expect(delays.slice(0, 4)).toEqual([0.01, 0.02, 0.04, 0.04]);
  });

  it("a run that throws is logged, and counts as a failed run", async () => {
    const { lines, logger } = capturedLogs();
    let ready = false;
    const reasons: TickReason[] = [];
    start({
      retryMs: 10,
      logger,
      ready: () => ready,
      run: (_signal, reason) => {
        reasons.push(reason);
        if (reasons.length === 1) return Promise.reject(new Error("boom"));
        ready = true;
        return Promise.resolve();
      },
    });
    await until(() => reasons.length === 2, "the retry");
    expect(reasons).toEqual(["start", "retry"]);
    expect(lines.find((l) => l.msg === "run crashed")).toMatchObject({ level: 50, err: { message: "boom" } });
  });

  it("stop aborts the run in progress and waits for it to end", async () => {
    let signal: AbortSignal | undefined;
    let ended = false;
    const scheduler = start({
      run: async (s) => {
        signal = s;
        await new Promise((resolve) => s.addEventListener("abort", resolve));
        ended = true;
      },
    });
    await until(() => signal !== undefined, "the first run");
    expect(signal?.aborted).toBe(false);
    await scheduler.stop();
    expect(signal?.aborted).toBe(true);
    expect(ended).toBe(true);
  });
});
