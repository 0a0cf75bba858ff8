/**
 * The values that came from `${VAR}` in the config, for the life of the
 * process. Each leaves the process only towards its own destination: every
 * other output (results, logs, audit records, alert bodies, metrics) passes
 * through `scrubSecrets` first.
 */
const known = new Set<string>();
let patterns: RegExp | undefined;

/** Shorter values (`1`, `on`) would scrub ordinary text and protect nothing. */
const MIN_SECRET_LENGTH = 4;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function addSecrets(values: Iterable<string>): void {
  for (const value of values) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    // The same value as it appears inside JSON and inside a URL.
    for (const form of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) known.add(form);
  }
  const alternatives = [...known].sort((a, b) => b.length - a.length).map(escapeRegExp);
  patterns = alternatives.length > 0 ? new RegExp(alternatives.join("|"), "g") : undefined;
}

export function scrubSecrets(text: string): string {
  return patterns ? text.replace(patterns, "***") : text;
}

/** A value with every secret inside its strings replaced, for records built from run results. */
export function scrubValue<T>(value: T): T {
  return patterns ? (JSON.parse(scrubSecrets(JSON.stringify(value))) as T) : value;
}
