import { setTimeout as delay } from "node:timers/promises";

export interface RetryPolicy {
  /** Further attempts after the first. */
  retries: number;
  /** The wait before the first retry, doubled before each next one. */
  backoffMs: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `attempt` until it succeeds, a failure is not `retryable`, or the
 * retries are spent; the last failure is thrown. undici's retry interceptor
 * does not fit: it retries only some status codes and errors, never a POST
 * by default, and shares one deadline across every attempt.
 */
export async function withRetries<T>(attempt: () => Promise<T>, policy: RetryPolicy, retryable: (err: unknown) => boolean): Promise<T> {
  const sleep = policy.sleep ?? ((ms: number) => delay(ms));
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!retryable(err) || n >= policy.retries) throw err;
      await sleep(policy.backoffMs * 2 ** n);
    }
  }
}
