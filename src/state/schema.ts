import { z } from "zod";
import type { AbsenceState } from "../model/absence.js";

/** An ISO time as this tool writes it. */
const time = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: "expected an ISO time" });

const record = z.object({
  firstAbsent: time.optional(),
  removedAt: time.optional(),
  events: z.array(z.object({ at: time, kind: z.enum(["gone", "back"]) })),
});

/** The removal state file; anything else in it is corruption, never a reason to remove an entry. */
export const absenceStateSchema = z.object({
  version: z.literal(1),
  map: z.string(),
  provenance: z.array(z.object({ sources: z.array(z.string()), entries: z.array(z.string()) })),
  entries: z.record(z.string(), record),
  instances: z.record(z.string(), time).optional(),
  processes: z.record(z.string(), z.string()).optional(),
}) satisfies z.ZodType<AbsenceState>;

/** The state for `map`, or undefined when the text is not one. */
export function parseAbsenceState(text: string, map: string): AbsenceState | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = absenceStateSchema.safeParse(json);
  return parsed.success && parsed.data.map === map ? parsed.data : undefined;
}
