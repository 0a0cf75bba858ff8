import { ADVICE } from "../plan/guards.js";

/** The approval advice every threshold trip's message ends with (alerts and log stores read each message alone). */
export const GUARD_ADVICE = ADVICE;

/** A guard's message without that advice, for output that gives it once for all trips. */
export function withoutAdvice(message: string): string {
  return message.replace(` or ${ADVICE}`, "").replace(`; ${ADVICE}`, "");
}
