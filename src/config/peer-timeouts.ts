import { formatDuration } from "./duration.js";
import type { Config } from "./schema.js";

/**
 * Peer timeouts that are not well below runTimeout. A run reads the instances
 * in the first half of what is left of runTimeout and applies them in the
 * second, so a peer allowed more than half of it is cut short by the run
 * (the instance fails on the run's deadline, not its own), and a source or
 * sink that slow leaves the instances no time at all.
 */
export function peerTimeoutWarnings(config: Config): string[] {
  const half = config.runTimeoutMs / 2;
  const peers: Array<[string, number]> = [
    ["haproxy.timeoutMs", config.haproxy.timeoutMs],
    ...config.sources.flatMap((s, i): Array<[string, number]> => ("timeoutMs" in s ? [[`sources[${i}].timeoutMs`, s.timeoutMs]] : [])),
    ...config.alerts.sinks.map((s, i): [string, number] => [`alerts.sinks[${i}].timeoutMs`, s.timeoutMs]),
  ];
  return peers
    .filter(([, ms]) => ms > half)
    .map(
      ([key, ms]) =>
        `${key} (${ms} ms) is more than half of runTimeout (${formatDuration(config.runTimeoutMs)}): a peer that slow is cut short by the run's deadline; ` +
        `set ${key} to at most ${Math.floor(half)} or raise runTimeout`,
    );
}
