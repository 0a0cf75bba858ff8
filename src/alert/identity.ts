import type { AlertEventName } from "../model/alerts.js";

/** Which condition an alert is about: the event, the instance ("" for the whole run) and, for a hold, the guard. */
export function alertKey(event: AlertEventName, target: string, guard: string | null): string {
  return [event, target, event === "held" ? (guard ?? "") : ""].join("|");
}

/**
 * What a condition is about now that its last message did not name. A new
 * unauthorised entry, exposure or address is news at once; a set that only
 * shrank was told already. A condition remembered without a set (an older
 * state file) was told nothing, so whatever it is about is new once.
 */
export function untold(about: ReadonlyArray<string>, told: ReadonlyArray<string> | undefined): string[] {
  const known = new Set(told);
  return about.filter((subject) => !known.has(subject));
}
