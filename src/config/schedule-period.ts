import cron, { type ParsedFields } from "node-cron";

const DAY_MS = 86_400_000;
/** Two leap-year cycles and a day: every gap of a date-restricted schedule (even Feb 29 alone) shows at least once. */
const DATED_HORIZON_DAYS = 2 * 1461 + 1;
/** Two weeks and a day: every gap of a schedule restricted by weekday alone shows at least once. */
const WEEKLY_HORIZON_DAYS = 15;

/** Seconds after midnight at which the schedule runs, on any day it runs at all. */
function timesOfDay(fields: ParsedFields): number[] {
  const times: number[] = [];
  for (const hour of fields.hour) for (const minute of fields.minute) for (const second of fields.second) times.push(hour * 3600 + minute * 60 + second);
  return times.sort((a, b) => a - b);
}

function isEveryValue(values: ReadonlyArray<number | string>, count: number): boolean {
  return values.length === count && values.every((v) => typeof v === "number");
}

/**
 * Whether the schedule runs on the UTC day starting at `dayMs`. Plain numeric
 * fields are checked here (node-cron requires day of month, month and weekday
 * all to match); tokens such as L, 15W or 1#2 are left to node-cron's matcher.
 */
function dayMatcher(schedule: string, fields: ParsedFields, firstTimeS: number): { runsOn: (dayMs: number) => boolean; close: () => void } {
  const tokens = [...fields.dayOfMonth, ...fields.dayOfWeek].some((v) => typeof v === "string");
  if (tokens) {
    const task = cron.createTask(schedule, () => undefined, { timezone: "Etc/UTC" });
    return { runsOn: (dayMs) => task.match(new Date(dayMs + firstTimeS * 1000)), close: () => void task.destroy() };
  }
  const days = new Set(fields.dayOfMonth as number[]);
  const months = new Set(fields.month);
  const weekdays = new Set((fields.dayOfWeek as number[]).map((d) => d % 7));
  return {
    runsOn: (dayMs) => {
      const day = new Date(dayMs);
      return days.has(day.getUTCDate()) && months.has(day.getUTCMonth() + 1) && weekdays.has(day.getUTCDay());
    },
    close: () => undefined,
  };
}

/**
 * The longest time between two runs of a cron schedule, judged over a whole
 * cycle of the calendar so that the answer does not depend on `now`: a
 * weekdays-only schedule has its weekend gap whether it is read on a Friday
 * or a Monday afternoon, a yearly one its 366 days. The times of day are the
 * same on every day it runs, so the longest gap is either within a day or from
 * the last run of one run day to the first of the next. Days are counted in
 * UTC: a daylight-saving change where the daemon runs can lengthen one gap by
 * an hour, well inside the three periods /healthz allows.
 */
export function schedulePeriodMs(schedule: string, now: Date): number {
  const fields = cron.parse(schedule);
  const times = timesOfDay(fields);
  const first = times[0] as number;
  const last = times[times.length - 1] as number;
  let longestS = 0;
  for (let i = 1; i < times.length; i++) longestS = Math.max(longestS, (times[i] as number) - (times[i - 1] as number));

  const dated = !isEveryValue(fields.dayOfMonth, 31) || !isEveryValue(fields.month, 12);
  const horizonDays = dated ? DATED_HORIZON_DAYS : WEEKLY_HORIZON_DAYS;
  const startMs = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const matcher = dayMatcher(schedule, fields, first);
  let previousDay: number | undefined;
  let runDays = 0;
  try {
    for (let day = 0; day < horizonDays; day++) {
      if (!matcher.runsOn(startMs + day * DAY_MS)) continue;
      if (previousDay !== undefined) longestS = Math.max(longestS, (day - previousDay) * 86_400 - last + first);
      previousDay = day;
      runDays++;
    }
  } finally {
    matcher.close();
  }
  // A schedule that runs on one day or none in two leap cycles is as rare as that horizon.
  return (runDays < 2 ? horizonDays * 86_400 : longestS) * 1000;
}
