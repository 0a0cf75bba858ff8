/**
 * Marks a log line that says what the command's result also shows. A person at
 * a terminal reads the result, so the line is left out there; a log store,
 * which may never see the result, keeps it.
 */
export const SHOWN_IN_RESULT = { inResult: true } as const;
