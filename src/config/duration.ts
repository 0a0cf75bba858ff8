const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "0", "90s", "1h", "2h30m" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const parts = /^(?:\d+(?:ms|s|m|h|d))+$/.test(text) ? text.match(/\d+(?:ms|s|m|h|d)/g) : null;
  if (!parts) return undefined;
  return parts.reduce((total, part) => {
    const [, amount, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(part) as RegExpExecArray;
    return total + Number(amount) * (UNIT_MS[unit as string] as number);
  }, 0);
}

const UNITS_DESCENDING: ReadonlyArray<[string, number]> = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
  ["ms", 1],
];

/** Milliseconds written the way the config takes them: 5400000 → "1h30m", 0 → "0". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  let rest = ms;
  let text = "";
  for (const [unit, size] of UNITS_DESCENDING) {
    const amount = Math.floor(rest / size);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * size;
  }
  return text;
}
