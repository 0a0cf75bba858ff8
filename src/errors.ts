/**
 * One error model for the whole tool: every failure carries a stable `code`
 * that tests assert on and the CLI maps to an exit code in one table.
 */
export class AllowlistError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends AllowlistError {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[], source = "config") {
    const lines = issues.map((i) => `  ${i.path || "(root)"}: ${i.message}`);
    super("E_CONFIG_INVALID", `${source} is invalid:\n${lines.join("\n")}`);
    this.issues = issues;
  }
}

export class UsageError extends AllowlistError {
  constructor(message: string) {
    super("E_USAGE", message);
  }
}

export class SourceError extends AllowlistError {
  readonly source: string;

  constructor(code: string, source: string, message: string, options?: { cause?: unknown }) {
    super(code, `source ${source}: ${message}`, options);
    this.source = source;
  }
}

export class DnsError extends AllowlistError {
  readonly resolver: string;
  readonly question: string;

  constructor(code: string, resolver: string, question: string, message: string, options?: { cause?: unknown }) {
    super(code, `${question} @${resolver}: ${message}`, options);
    this.resolver = resolver;
    this.question = question;
  }
}

export class HaproxyError extends AllowlistError {
  readonly target: string;
  /** Set by the code that knows: whether the live list is known to be untouched. */
  liveState: "unchanged" | "unknown" = "unknown";

  constructor(code: string, target: string, message: string, options?: { cause?: unknown }) {
    super(code, `${target}: ${message}`, options);
    this.target = target;
  }
}

export class AlertError extends AllowlistError {
  /** The sink, with its URL redacted. */
  readonly sink: string;
  readonly status?: number;

  constructor(code: string, sink: string, message: string, options?: { cause?: unknown; status?: number }) {
    super(code, `${sink}: ${message}`, options);
    this.sink = sink;
    if (options?.status !== undefined) this.status = options.status;
  }
}

export function errorCode(err: unknown): string {
  return err instanceof AllowlistError ? err.code : "E_INTERNAL";
}
