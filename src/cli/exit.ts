import { AllowlistError } from "../errors.js";
import { EXIT } from "../model/result.js";

/** The one table from error codes to exit codes. */
export function exitCodeForError(err: unknown): number {
  if (err instanceof AllowlistError && (err.code === "E_CONFIG_INVALID" || err.code === "E_USAGE")) return EXIT.usage;
  return EXIT.failed;
}
