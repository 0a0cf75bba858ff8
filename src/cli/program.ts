import { isatty } from "node:tty";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { AllowlistError, ERROR_CODES, errorCode } from "../errors.js";
import type { GlobalOptions, Io } from "./context.js";
import { EXIT, exitCodeForError } from "./exit.js";
import { LOG_LEVELS } from "./log-levels.js";
import { packageVersion } from "./version.js";
import type { SyncCliOptions } from "./commands/sync.js";
import type { DenialsCliOptions } from "./commands/denials.js";
import { parseDuration } from "../config/duration.js";

/** An option parser for whole numbers of at least `minimum`. */
function wholeNumber(minimum: number): (text: string) => number {
  return (text) => {
    if (!/^\d+$/.test(text) || Number(text) < minimum) throw new InvalidArgumentError(`expected a whole number of at least ${minimum}`);
    return Number(text);
  };
}

/** `--since`: a duration as the config writes them (`90m`, `1h`, `2d`), in milliseconds. */
function sinceDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as "1h", "30m" or "2d"');
  return ms;
}

/** A repeatable option's values, in order. */
const collect = (value: string, previous: string[] = []) => [...previous, value];
const INSTANCE_HELP = "only this instance, as haproxy.sockets or status names it (repeatable)";

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command("travis-allowlist")
    .description("Keep an HAProxy IP allowlist equal to the addresses Travis CI publishes for its build workers.")
    .version(packageVersion(), "--version")
    .addOption(new Option("--config <file>", "config file (default: $TRAVIS_ALLOWLIST_CONFIG, then ./travis-allowlist.yaml)"))
    .addOption(new Option("--output <format>", "result format on stdout").choices(["text", "json"]).default("text"))
    .addOption(new Option("--log-level <level>", "log level on stderr").choices([...LOG_LEVELS]).default("info"))
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout(s), writeErr: (s) => io.stderr(s) });

  const globals = (command: Command) => command.optsWithGlobals() as GlobalOptions;
  // On a terminal the result is the output and info lines only say it again; a level asked for is kept.
  const quietOnTerminal = (command: Command): GlobalOptions => {
    const options = globals(command);
    return program.getOptionValueSource("logLevel") === "default" && isatty(2) ? { ...options, logLevel: "warn" } : options;
  };

  program
    .command("sync")
    .description("make every HAProxy instance hold the desired set")
    .option("--dry-run", "plan and print the changes without applying them", false)
    .option("--detailed-exitcode", "exit 2 when a dry run finds changes pending", false)
    .option("--force", "set aside the threshold guards (maxAdditions, maxRemovals, expected) for this run", false)
    .option("--no-grace", "remove absent entries now, without waiting for guards.removeAfter (recorded in the audit trail)")
    .option("--instance <target>", INSTANCE_HELP, collect)
    .option("--lock-timeout <seconds>", "how long to wait for another sync on this host", wholeNumber(0), 120)
    .option("--plan-out <file>", "with --dry-run: save the plan for review (also when a guard holds it)")
    .option("--plan <file>", "apply exactly this reviewed plan (its guards reviewed with it); refused if anything moved since")
    .action(async (options: SyncCliOptions, command: Command) => {
      code = await (await import("./commands/sync.js")).syncCommand(quietOnTerminal(command), options, io);
    });

  program
    .command("status")
    .description("live against desired on every instance; changes nothing")
    .option("--detailed-exitcode", "exit 2 when any instance drifts from the desired set, or holds duplicates or exposures", false)
    .option("--instance <target>", INSTANCE_HELP, collect)
    .action(async (options: { detailedExitcode: boolean; instance?: string[] }, command: Command) => {
      code = await (await import("./commands/status.js")).statusCommand(quietOnTerminal(command), options, io);
    });

  program
    .command("explain")
    .description("who gets in: HAProxy's own answer for each address on each instance, and why")
    .argument("<address...>", "client addresses, e.g. 34.66.25.221")
    .option("--detailed-exitcode", "exit 2 when instances disagree about an address", false)
    .option("--instance <target>", INSTANCE_HELP, collect)
    .action(async (addresses: string[], options: { detailedExitcode: boolean; instance?: string[] }, command: Command) => {
      code = await (await import("./commands/explain.js")).explainCommand(quietOnTerminal(command), addresses, options, io);
    });

  program
    .command("denials")
    .description("who HAProxy turned away (haproxy.denials.table), and why; changes nothing")
    .option("--since <duration>", "only clients whose last request is at most this old, e.g. 1h", sinceDuration)
    .option("--detailed-exitcode", "exit 2 when an address a source publishes was denied (stale or held)", false)
    .option("--instance <target>", INSTANCE_HELP, collect)
    .action(async (options: DenialsCliOptions, command: Command) => {
      code = await (await import("./commands/denials.js")).denialsCommand(quietOnTerminal(command), options, io);
    });

  program
    .command("daemon")
    .description("run sync on `schedule`; serve /metrics and /healthz on metrics.listen")
    .option("--jitter <seconds>", "wait a random time up to this before the first run", wholeNumber(0), 0)
    .action(async (options: { jitter: number }, command: Command) => {
      code = await (await import("./commands/daemon.js")).daemonCommand(globals(command), options, io);
    });

  program
    .command("resolve")
    .description("print the desired set with provenance; no HAProxy access")
    .action(async (_options: unknown, command: Command) => {
      code = await (await import("./commands/resolve.js")).resolveCommand(quietOnTerminal(command), io);
    });

  program
    .command("config")
    .description("config file tools")
    .command("check")
    .description("validate the config and print the effective config, secrets redacted")
    .action(async (_options: unknown, command: Command) => {
      code = await (await import("./commands/config-check.js")).configCheckCommand(quietOnTerminal(command), io);
    });

  const audit = program.command("audit").description("the tamper-evident audit trail");
  audit
    .command("show")
    .description("print audit records readably (--output json for the records themselves)")
    .option("--last <n>", "only the last N records", wholeNumber(1), 20)
    .option("--changes", "only changes, holds and failures (no intents, no in-sync runs)")
    .action(async (options: { last: number; changes?: boolean }, command: Command) => {
      code = await (await import("./commands/audit.js")).auditShowCommand(quietOnTerminal(command), options, io);
    });
  audit
    .command("verify")
    .description("check the hash chain (the HMAC chain with audit.key); exit 1 naming the first bad line")
    .option("--anchor <seq:digest>", "also check that record SEQ carries DIGEST, as a run logged it (auditHead)")
    .action(async (options: { anchor?: string }, command: Command) => {
      code = await (await import("./commands/audit.js")).auditVerifyCommand(quietOnTerminal(command), options, io);
    });

  const overrideExits = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(overrideExits);
  };
  overrideExits(program);

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const exit = exitCodeForError(err);
    const text = err instanceof AllowlistError || err instanceof Error ? err.message : String(err);
    const code = errorCode(err);
    // A log collector reads JSON lines, whatever stopped the command; a person reads a sentence and what to do.
    if (isatty(2)) io.stderr(`error ${code}: ${text}\nhint: ${ERROR_CODES[code][1]}\n`);
    else io.stderr(`${JSON.stringify({ level: 50, time: Date.now(), name: "travis-allowlist", err: { code, message: text }, msg: text })}\n`);
    // A script reading --output json always gets one object, also when the command never started.
    if (/(^|\s)--output(=|\s+)json(\s|$)/.test(argv.join(" "))) {
      const error = { code, message: text };
      await io.stdout(`${JSON.stringify({ version: 1, exitCode: exit, error }, null, 2)}\n`);
    }
    return exit;
  }
  return code;
}
