import { pino } from "pino";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { poll } from "../../../src/daemon/poll.js";
import { AllowlistError } from "../../../src/errors.js";
import { until } from "../../support/wait.js";

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: Array<{ msg: string; err?: { code?: string } }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
      done();
    },
  });
  return { logger: pino({ level: "warn" }, stream), lines };
}

describe("poll", () => {
  it("looks at once, then again after each look, never two at once", async () => {
    let inFlight = 0;
    let peak = 0;
    let looks = 0;
    const { logger } = recordingLogger();
    let release: (() => void) | undefined;
    const polling = poll({
      intervalMs: 1,
      logger,
      failure: "the look failed",
      look: async () => {
        looks++;
        peak = Math.max(peak, ++inFlight);
        if (looks === 2) await new Promise<void>((resolve) => (release = resolve));
        inFlight--;
      },
    });
    try {
      expect(looks).toBe(1);
      await until(() => release !== undefined, "the second look, held open");
      expect(looks).toBe(2);
      release?.();
      await until(() => looks >= 10, "more looks once the slow one ended");
      expect(peak).toBe(1);
    } finally {
      polling.stop();
    }
  });

  it("a failed look is logged with its error and the next one still comes", async () => {
    let looks = 0;
    const { logger, lines } = recordingLogger();
    const polling = poll({
      intervalMs: 1,
      logger,
      failure: "the look failed",
      look: () => {
        looks++;
        return looks === 1 ? Promise.reject(new AllowlistError("E_HAPROXY_CONNECT", "refused")) : Promise.resolve();
      },
    });
    try {
      await until(() => looks >= 3, "looks after the failed one");
      expect(lines.map((l) => [l.msg, l.err?.code])).toEqual([["the look failed", "E_HAPROXY_CONNECT"]]);
    } finally {
      polling.stop();
    }
  });

  it("once stopped, starts no look, and tells the one under way that it is no longer active", async () => {
    let looks = 0;
    let active: (() => boolean) | undefined;
    let release: (() => void) | undefined;
    const { logger } = recordingLogger();
    const polling = poll({
      intervalMs: 1,
      logger,
      failure: "the look failed",
      look: async (isActive) => {
        looks++;
        active = isActive;
        if (looks === 3) await new Promise<void>((resolve) => (release = resolve));
      },
    });
    await until(() => release !== undefined, "the third look, held open");
    expect(active?.()).toBe(true);
    polling.stop();
    expect(active?.()).toBe(false);
    release?.();
    // The next look would be due 1 ms after the held one ends; another poll's looks mark the time passing.
    let later = 0;
    const witness = poll({ intervalMs: 1, logger, failure: "", look: () => Promise.resolve(void later++) });
    await until(() => later >= 10, "time for several more looks");
    witness.stop();
    expect(looks).toBe(3);
  });
});
