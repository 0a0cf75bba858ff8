/**
 * How many connections the probe server may hold at once. Every connection is
 * a file descriptor taken from the same soft RLIMIT_NOFILE that a run needs for
 * its DNS queries, runtime sockets, feeds, alert sinks, audit trail and lock:
 * the server keeps to a quarter of it, and never more than it could use.
 */

/** More than a Prometheus server, a kubelet and a few people with curl ever need at once. */
export const MAX_PROBE_CONNECTIONS = 256;
/** Below this a scrape and both probes could not be answered together. */
export const MIN_PROBE_CONNECTIONS = 8;
/** The soft limit assumed where it cannot be read: the usual default of a Linux login. */
export const FALLBACK_OPEN_FILES = 1024;

/** A quarter of the soft limit, within [8, 256]: the runs keep the other three quarters. */
export function probeConnectionCap(softOpenFiles: number): number {
  return Math.min(MAX_PROBE_CONNECTIONS, Math.max(MIN_PROBE_CONNECTIONS, Math.floor(softOpenFiles / 4)));
}

/**
 * The soft "Max open files" of a /proc/<pid>/limits text; "unlimited" is
 * Infinity. Undefined when the line is missing or unreadable.
 */
export function parseSoftOpenFiles(limits: string): number | undefined {
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits);
  if (!match?.[1]) return undefined;
  return match[1] === "unlimited" ? Infinity : Number(match[1]);
}
