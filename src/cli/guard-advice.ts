import { ADVICE } from "../plan/guards.js";

/** A guard's message without the approval advice it ends with (alerts and log stores read each message alone), for output that gives it once for all trips. */
export function withoutAdvice(message: string): string {
  return message.replace(` or ${ADVICE}`, "").replace(`; ${ADVICE}`, "");
}
