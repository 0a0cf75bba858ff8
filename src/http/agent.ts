import type { Dispatcher } from "undici";

/**
 * A dispatcher whose connect, headers and body timeouts are the caller's
 * deadline, made on first use and kept for the life of the process: a daemon
 * reuses its connections.
 */
export function agentOnFirstUse(timeoutMs: number): () => Promise<Dispatcher> {
  let agent: Dispatcher | undefined;
  return async () => {
    const { Agent } = await import("undici");
    agent ??= new Agent({ connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    return agent;
  };
}
