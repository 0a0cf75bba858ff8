import { AllowlistError, type ErrorCode } from "../errors.js";
import type { DenialsOutcome } from "../model/denials.js";
import type { RunOutcome } from "../model/result.js";
import type { StatusOutcome } from "../model/status.js";
import type { ExplainOutcome } from "../reconcile/explain.js";

/** The exit codes of the SPEC table. */
export const EXIT = {
  ok: 0,
  failed: 1,
  changesPending: 2,
  held: 3,
  usage: 64,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The outcome each command reports. */
interface Outcomes {
  sync: RunOutcome;
  status: StatusOutcome;
  explain: ExplainOutcome;
  denials: DenialsOutcome;
}

/** Every command's outcome and its exit code; `changesPending` is reported only under --detailed-exitcode, 0 without it. */
const EXIT_BY_OUTCOME: { [C in keyof Outcomes]: Record<Outcomes[C], ExitCode> } = {
  sync: { "in-sync": EXIT.ok, applied: EXIT.ok, pending: EXIT.changesPending, held: EXIT.held, failed: EXIT.failed },
  status: { "in-sync": EXIT.ok, drifted: EXIT.changesPending, unknown: EXIT.failed },
  explain: { agree: EXIT.ok, disagree: EXIT.changesPending, unknown: EXIT.failed },
  denials: { clear: EXIT.ok, "published-denied": EXIT.changesPending, unknown: EXIT.failed },
};

/** The exit code of a command that ended with `outcome`. */
export function exitCodeOf<C extends keyof Outcomes>(command: C, outcome: Outcomes[C], options: { detailedExitcode: boolean }): ExitCode {
  const table: Record<Outcomes[C], ExitCode> = EXIT_BY_OUTCOME[command];
  const code = table[outcome];
  return code === EXIT.changesPending && !options.detailedExitcode ? EXIT.ok : code;
}

/** Errors in what the command was asked to do: the invocation or the config must change, retrying will not help. */
const USAGE: ReadonlySet<ErrorCode> = new Set(["E_USAGE", "E_CONFIG_INVALID", "E_INSTANCE_UNKNOWN", "E_AUDIT_KEY_MISSING"]);

/** The exit code of a command that ended with an error. */
export function exitCodeForError(err: unknown): ExitCode {
  if (err instanceof AllowlistError && USAGE.has(err.code)) return EXIT.usage;
  return EXIT.failed;
}
