/** The HAProxy process behind each target (`pid@start`), or undefined when it could not be asked. */
export type Processes = ReadonlyMap<string, string | undefined>;

/**
 * Targets whose process is new since the last look: restarted or reloaded,
 * back after being unreachable, or newly discovered. Each loaded its list
 * file from disk, which may be stale.
 */
export function newProcesses(previous: Processes | undefined, current: Processes): string[] {
  if (!previous) return [];
  return [...current].filter(([target, process]) => process !== undefined && previous.get(target) !== process).map(([target]) => target);
}
