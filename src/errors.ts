/**
 * One error model for the whole tool: every failure carries a stable `code`
 * that tests assert on and the CLI maps to an exit code in one table.
 */
/**
 * Every error code the tool reports, with what it means and what an operator
 * does about it. The set is closed: a code not listed here does not compile,
 * and docs/errors.md is checked against this table by a test.
 */
export const ERROR_CODES = {
  E_USAGE: ["bad command-line usage", "run with --help; fix the arguments"],
  E_CONFIG_INVALID: ["the config file is invalid; the message names each key path", "fix the named keys; `config check` validates without side effects"],
  E_SOURCE_DNS_NO_RESOLVER: ["a dns source has no resolvers and /etc/resolv.conf lists none", "set sources[].resolvers"],
  E_SOURCE_DNS_QUORUM: ["fewer resolvers than `quorum` answered", "check the resolvers named in the message, or lower quorum"],
  E_SOURCE_DNS_FAILED: ["a dns source failed for a reason with no finer code", "read the message; run `resolve` to see each resolver's answer"],
  E_SOURCE_DNS_TIMEOUT: ["a resolver did not answer in time", "check the resolver is reachable from here; raise timeoutMs if it is slow"],
  E_SOURCE_DNS_SERVFAIL: ["a resolver answered SERVFAIL", "check the resolver and its upstream"],
  E_SOURCE_DNS_NXDOMAIN: ["the name does not exist", "check sources[].names for typos"],
  E_SOURCE_DNS_RCODE: ["a resolver answered with another error code", "check the resolver"],
  E_SOURCE_DNS_EMPTY: ["the name has no A or AAAA records", "check the name; an empty answer never removes anything"],
  E_SOURCE_DNS_NETWORK: ["a resolver could not be reached (socket error)", "check network access to the resolver"],
  E_SOURCE_DNS_MALFORMED: ["a resolver sent an answer that does not decode", "check what answers on that address and port"],
  E_SOURCE_DNS_MISMATCH: [
    "answers did not match the question (ID, question or sender)",
    "a spoofing attempt or a broken resolver: check the path to the resolver",
  ],
  E_SOURCE_DNS_CNAME_LOOP: ["the CNAME chain loops or is too long", "fix the DNS records"],
  E_SOURCE_DNS_INSECURE: ["requireDnssec is set and the answer lacks the AD bit", "use a validating resolver, or unset requireDnssec"],
  E_SOURCE_DNS_DOH_HTTP: ["a DNS-over-HTTPS resolver answered with an HTTP error", "check the DoH URL and the server"],
  E_SOURCE_HTTP_STATUS: ["a feed answered with an HTTP error status", "check the feed URL and the server"],
  E_SOURCE_HTTP_TIMEOUT: ["a feed did not answer or finish in time", "check the server; raise sources[].timeoutMs if it is slow"],
  E_SOURCE_HTTP_NETWORK: ["a feed could not be reached", "check network access to the feed"],
  E_SOURCE_HTTP_REDIRECT: ["a feed redirected where it may not", "point sources[].url at the final address"],
  E_SOURCE_HTTP_HTML: ["a feed answered with an HTML page (an error or login page)", "check the URL and credentials"],
  E_SOURCE_HTTP_CONTENT_TYPE: ["a feed answered with a content type its format cannot be", "check sources[].format against what the URL serves"],
  E_SOURCE_HTTP_TOO_LARGE: ["a feed body is larger than sources[].maxBytes", "check the feed; raise maxBytes only if the size is real"],
  E_SOURCE_HTTP_TRUNCATED: ["a feed body was cut off", "retry; check the server and any proxy"],
  E_SOURCE_HTTP_PARSE: ["a feed body does not parse in its format", "check sources[].format"],
  E_SOURCE_HTTP_SHAPE: ["a feed parsed but is not shaped as its format says", "check sources[].format and key"],
  E_SOURCE_HTTP_EMPTY: ["a feed returned no entries (never trusted)", "check the feed; an empty answer never removes anything"],
  E_SOURCE_HTTP_BAD_ENTRY: ["a feed returned something that is not an address", "check the feed; nothing was changed"],
  E_DESIRED_REJECTED: [
    "a source returned a value that must not be allowlisted (too broad, reserved, malformed)",
    "read the named source and value; fix the source or the guards",
  ],
  E_DESIRED_EMPTY: ["the desired set is empty", "check the sources; an empty answer never removes anything"],
  E_DISCOVERY: ["haproxy.discover found no instances or failed", "check the discovery name, port and resolvers"],
  E_PLAN_STALE: [
    "the reviewed plan no longer holds: the config, the desired set or a live list changed since it was made, it is older than planMaxAge (or dated in the future), or the audit trail records it as applied already",
    "make and review a new plan (sync --dry-run --plan-out FILE); nothing was applied",
  ],
  E_PLAN_INVALID: ["the file given to --plan is not a plan this tool wrote", "give the file written by sync --dry-run --plan-out"],
  E_INSTANCE_UNKNOWN: [
    "an --instance target is not in haproxy.sockets and was not found by haproxy.discover (bad usage: exit 64, nothing read or changed)",
    "give the target exactly as status lists it",
  ],
  E_NOT_CONTACTED: ["an instance was not contacted because the run stopped earlier", "fix the earlier error named in the result"],
  E_HAPROXY_TARGET: ["an instance address is not unix:///path, tcp://host:port or tls://host:port", "fix haproxy.sockets"],
  E_HAPROXY_CONNECT: ["the runtime socket cannot be reached", "check HAProxy runs with this stats socket and that this user may open it"],
  E_HAPROXY_TLS: [
    "the TLS handshake with a tls:// target failed: a plaintext peer, a certificate the CA did not sign or for another name, or our client certificate refused",
    "check haproxy.tls (ca, cert, key, serverName) against the listener's certificate and ca-file; nothing was written",
  ],
  E_HAPROXY_TLS_FILES: [
    "haproxy.tls is missing, or one of its files cannot be read or used (not PEM, or a key that does not match the certificate)",
    "set haproxy.tls for tls:// targets and check the mounted files",
  ],
  E_HAPROXY_TIMEOUT: ["the runtime socket stopped answering", "check HAProxy's load; raise haproxy.timeoutMs if it is busy"],
  E_HAPROXY_IO: ["the runtime socket connection failed", "check HAProxy's logs"],
  E_HAPROXY_CLOSED: ["HAProxy closed the runtime connection", "check HAProxy's logs (a payload too large for tune.bufsize closes it on 2.x)"],
  E_HAPROXY_REPLY_TOO_LARGE: [
    "the runtime socket sent a reply larger than any answer to that command could be, or a list line past 64 KiB (a flooding peer)",
    "check that the target is really HAProxy's runtime socket",
  ],
  E_HAPROXY_LIVE_TOO_LONG: [
    "an instance listed more live entries than limits.maxLiveEntries, or than the run's memory budget (from V8's heap limit) holds beside the other instances",
    "if the list is really that long, raise limits.maxLiveEntries, and past the memory budget the memory limit with a matching --max-old-space-size (docs/kubernetes.md, Memory); otherwise find what filled it (the target may not be the HAProxy you meant)",
  ],
  E_HAPROXY_PROTOCOL: ["HAProxy answered something this tool does not understand", "check the HAProxy version and that the target is a runtime socket"],
  E_HAPROXY_COMMAND: ["a runtime command was refused", "read HAProxy's message in the error"],
  E_HAPROXY_PERMISSION: [
    "HAProxy refused a map or ACL command: Permission denied, the stats socket's level is too low (3.x needs level admin even to read a map)",
    "give the stats socket level admin in haproxy.cfg (the message has the line, e.g. stats socket /run/haproxy/admin.sock mode 660 level admin) and reload",
  ],
  E_HAPROXY_UNKNOWN_MAP: ["HAProxy has no map or ACL loaded from haproxy.map", "set haproxy.map to the path exactly as HAProxy loaded it"],
  E_HAPROXY_TABLE_UNKNOWN: [
    "HAProxy has no stick table named haproxy.denials.table",
    "set haproxy.denials.table to a table HAProxy has (the message lists them), or add the denied-clients table of docs/haproxy.md and reload",
  ],
  E_HAPROXY_TABLE_TYPE: [
    "the denied-clients stick table is not `type ipv6`: a `type ip` table drops IPv6 clients, other types hold no addresses",
    "declare it `stick-table type ipv6 …` (IPv4 clients are kept too) and reload",
  ],
  E_HAPROXY_TABLE_COUNTER: [
    "the denied-clients stick table stores neither http_req_cnt nor conn_cnt, so no request count can be read",
    "add `store http_req_cnt` (mode http) or `store conn_cnt` (mode tcp) to its stick-table line and reload",
  ],
  E_HAPROXY_PREPARE: ["`prepare map` failed", "check the socket's access level and the HAProxy version (2.4+)"],
  E_HAPROXY_ADD: ["adding entries to the prepared version failed; nothing was committed", "read HAProxy's message; the live list is unchanged"],
  E_HAPROXY_DEL: ["deleting entries failed (HAProxy < 2.4); additions are live", "run sync again"],
  E_HAPROXY_VERIFY: ["the list read back does not hold the intended entries", "run status; another writer may be changing the list"],
  E_HAPROXY_CONFLICT: ["another writer changed the list during the run (retried once)", "find the other writer; run sync again"],
  E_HAPROXY_COMMIT: ["`commit` was refused; the live list keeps its old entries", "read HAProxy's message; run sync again"],
  E_EXPOSURE_CHECK: ["applied and verified, but HAProxy's matcher could not be asked who gets in", "check the socket allows `get map`/`get acl`; run status"],
  E_PERSIST: ["committed in memory, but the map file could not be rewritten", "fix the file's permissions or disk; a reload would bring back old entries"],
  E_PERSIST_UNSAFE: [
    "committed in memory, but the map file was not rewritten: the map path is a symlink that another user could have made or changed (the link, its target or a directory on the way belongs to another user or is writable by others)",
    "make the link, its target and every directory above them root's or this user's and not writable by others (chmod go-w), or replace the link with the map file; a reload would bring back old entries",
  ],
  E_UNSAFE_TEXT: [
    "a value that is not a canonical address reached the socket writer and was refused",
    "report a bug: validation should have stopped it earlier",
  ],
  E_AUDIT_READ: ["the audit trail cannot be read", "check the file's permissions"],
  E_AUDIT_WRITE: ["the audit trail cannot be written; nothing was applied", "check the directory, permissions and disk space"],
  E_AUDIT_CORRUPT: [
    "the audit trail's last record is damaged; nothing can be appended",
    "keep the trail as evidence (move it and its .head aside); run audit verify",
  ],
  E_AUDIT_KEY: [
    "the audit trail is keyed and this run's audit.key does not match its last record (or is missing)",
    "use the trail's key (from its Secret); nothing was applied",
  ],
  E_AUDIT_KEY_MISSING: [
    "audit verify was asked to check a keyed (HMAC-SHA256) trail without audit.key: nothing can be said about it",
    "set audit.key to the key the trail was sealed with (bad usage: exit 64)",
  ],
  E_AUDIT_SYMLINK: [
    "a symlink was found where the audit trail or its .head file should be; audit files are never read or written through a link",
    "keep the link as evidence and remove it; put the real trail (and its .head) at audit.path, which must name the file itself",
  ],
  E_AUDIT_TAMPERED: [
    "the audit trail's last record does not match its .head file (records removed from the end, the head deleted, rewritten, unsealed or replaced by a link); nothing was appended or applied",
    "keep the trail and its .head as evidence, run audit verify, then start a new trail deliberately (docs/operations.md)",
  ],
  E_AUDIT_LOCK: ["another run holds the audit trail's lock", "wait; a lock left by a dead process is taken over"],
  E_RUN_LOCK: ["another sync on this host holds the run lock", "wait for it; a lock left by a dead process is taken over"],
  E_STATE_DIR: [
    "the state directory cannot be created or used, or another user could have written a state, cache, audit or lock path (world-writable, group-writable by a group this process is not in, owned by another user, or a symlink)",
    "the message names the path, its owner and mode: chown or chmod go-w it as it says, or point stateDir (or audit.path) at a directory only this user can write",
  ],
  E_RUN_TIMEOUT: [
    "the run did not finish within runTimeout; each instance holds its old or its complete new set",
    "run status to see where each instance is; find the slow peer in the log",
  ],
  E_ABORTED: ["the run was stopped (shutdown) before any change", "none: the next run does the work"],
  E_ALERT_HTTP: ["an alert sink answered with an HTTP error", "check the sink URL and credentials"],
  E_ALERT_TIMEOUT: ["an alert sink did not answer in time", "check the sink"],
  E_ALERT_NETWORK: ["an alert sink could not be reached", "check network access to the sink"],
  E_METRICS_PUSH: ["the Pushgateway push failed", "check metrics.pushgateway"],
  E_METRICS_LISTEN: [
    "the daemon cannot serve /metrics on metrics.listen (the port is in use, or the address is not this host's)",
    "stop what holds the port, or set metrics.listen to a free host:port",
  ],
  E_INTERNAL: ["an unexpected error: a bug", "report it with the log line"],
} as const satisfies Record<string, readonly [meaning: string, action: string]>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(text: string): text is ErrorCode {
  return Object.hasOwn(ERROR_CODES, text);
}

export class AllowlistError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
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

  constructor(code: ErrorCode, source: string, message: string, options?: { cause?: unknown }) {
    super(code, `source ${source}: ${message}`, options);
    this.source = source;
  }
}

/**
 * What one resolver can fail with: every dns source code but those about the
 * source as a whole. A source that fails for one of these reasons reports the
 * same code, so a code names the failure, not the layer that saw it.
 */
export type DnsFailureCode = Exclude<Extract<ErrorCode, `E_SOURCE_DNS_${string}`>, "E_SOURCE_DNS_NO_RESOLVER" | "E_SOURCE_DNS_QUORUM" | "E_SOURCE_DNS_FAILED">;

/** The DNS question that failed: a name, and the record type when one type was asked. */
export interface DnsQuestion {
  hostname: string;
  type?: string;
}

export class DnsError extends AllowlistError {
  declare readonly code: DnsFailureCode;
  readonly resolver: string;
  /** The name that was asked: after a CNAME, the alias's target, not the name a source lists. */
  readonly hostname: string;
  /** `name/type`, or the name alone when the failure covers every type asked. */
  readonly question: string;

  constructor(code: DnsFailureCode, resolver: string, question: DnsQuestion, message: string, options?: { cause?: unknown }) {
    const asked = question.type === undefined ? question.hostname : `${question.hostname}/${question.type}`;
    super(code, `${asked} @${resolver}: ${message}`, options);
    this.resolver = resolver;
    this.hostname = question.hostname;
    this.question = asked;
  }
}

export class HaproxyError extends AllowlistError {
  /** Undefined only from the pure reply parsers, which see text, not a connection; the instance adds it with `at`. */
  readonly target: string | undefined;
  /** Set by the code that knows: whether the live list is known to be untouched. */
  liveState: "unchanged" | "unknown" = "unknown";

  constructor(code: ErrorCode, target: string | undefined, message: string, options?: { cause?: unknown }) {
    super(code, target === undefined ? message : `${target}: ${message}`, options);
    this.target = target;
  }

  /** The same error, named with the instance it came from (once: a target already known is kept). */
  at(target: string): HaproxyError {
    if (this.target !== undefined) return this;
    const named = new HaproxyError(this.code, target, this.message, { cause: this });
    named.liveState = this.liveState;
    return named;
  }
}

export class AlertError extends AllowlistError {
  /** The sink, with its URL redacted. */
  readonly sink: string;
  readonly status?: number;

  constructor(code: ErrorCode, sink: string, message: string, options?: { cause?: unknown; status?: number }) {
    super(code, `${sink}: ${message}`, options);
    this.sink = sink;
    if (options?.status !== undefined) this.status = options.status;
  }
}

export function errorCode(err: unknown): ErrorCode {
  return err instanceof AllowlistError ? err.code : "E_INTERNAL";
}
