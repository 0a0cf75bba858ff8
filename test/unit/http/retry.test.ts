import { describe, expect, it } from "vitest";
import { withRetries } from "../../../src/http/retry.js";

/** An attempt that fails with each of `failures` in turn, then succeeds; it records the waits it was given. */
function scripted(failures: string[]) {
  const waits: number[] = [];
  let calls = 0;
  return {
    waits,
    calls: () => calls,
    sleep: (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    },
    attempt: () => {
      const failure = failures[calls++];
      return failure === undefined ? Promise.resolve("delivered") : Promise.reject(new Error(failure));
    },
  };
}

const retryUnlessFinal = (err: unknown) => !(err instanceof Error && err.message === "final");

describe("withRetries", () => {
  it.each([
    ["succeeds at once", [], 2, "delivered", 1, []],
    ["retries with doubling backoff until it succeeds", ["5xx", "5xx"], 2, "delivered", 3, [100, 200]],
    ["gives up after the retries and throws the last failure", ["5xx", "timeout", "network"], 2, "network", 3, [100, 200]],
    ["never retries with no retries", ["5xx"], 0, "5xx", 1, []],
    ["stops at a failure that is not retryable", ["5xx", "final", "5xx"], 5, "final", 2, [100]],
  ] as const)("%s", async (_name, failures, retries, outcome, calls, waits) => {
    const script = scripted([...failures]);
    const result = await withRetries(script.attempt, { retries, backoffMs: 100, sleep: script.sleep }, retryUnlessFinal).catch((err: Error) => err.message);
    expect(result).toBe(outcome);
    expect(script.calls()).toBe(calls);
    expect(script.waits).toEqual(waits);
  });
});
