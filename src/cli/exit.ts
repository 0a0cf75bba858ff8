import { AllowlistError, type ErrorCode } from "../errors.js";
import { EXIT } from "../model/result.js";

/** Errors in what the command was asked to do: the invocation or the config must change, retrying will not help. */
const USAGE: ReadonlySet<ErrorCode> = new Set(["E_USAGE", "E_CONFIG_INVALID", "E_INSTANCE_UNKNOWN", "E_AUDIT_KEY_MISSING"]);

/** The one table from error codes to exit codes. */
export function exitCodeForError(err: unknown): number {
  if (err instanceof AllowlistError && USAGE.has(err.code)) return EXIT.usage;
  return EXIT.failed;
}
