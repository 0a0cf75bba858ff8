/**
 * What went wrong with an HTTP exchange, in terms every caller turns into its
 * own error code: a feed, an alert sink, the Pushgateway and a DoH resolver
 * each name the same failures differently.
 */
export type HttpFailureKind = "timeout" | "connection" | "tls" | "cut-off" | "too-large" | "redirect";

/** `request`: no status line yet; `body`: the answer had begun and its body did not arrive whole. */
export type HttpPhase = "request" | "body";

export interface HttpFailure {
  kind: HttpFailureKind;
  phase: HttpPhase;
  /**
   * For the message: the system or undici code (ECONNREFUSED, UND_ERR_SOCKET,
   * CERT_HAS_EXPIRED) or the error's name, never its text, which can carry
   * the URL; for `redirect` and `too-large` (a body over the reader's
   * bound, which client.ts judges, not undici), what was refused.
   */
  detail: string;
  cause?: unknown;
}

/** The deadline's own abort (the request's signal), however undici reports it. */
const DEADLINE_NAMES: ReadonlySet<string> = new Set(["TimeoutError", "AbortError"]);
/** A dispatcher's body timeout: silence between chunks, which a feed's agent sets to the feed's deadline. */
const BODY_SILENCE = "UND_ERR_BODY_TIMEOUT";
/** Node's TLS errors and OpenSSL's certificate verification codes. */
const TLS_CODE = /^ERR_(TLS|SSL)_|CERT|^UNABLE_TO_/;

function codeOf(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  return typeof err.code === "string" ? err.code : undefined;
}

function kindOf(name: string, code: string | undefined, phase: HttpPhase): HttpFailureKind {
  if (DEADLINE_NAMES.has(name) || (phase === "body" && code === BODY_SILENCE)) return "timeout";
  if (phase === "body") return "cut-off";
  return code !== undefined && TLS_CODE.test(code) ? "tls" : "connection";
}

/**
 * Classifies what undici or the socket threw. A dispatcher's connect and
 * headers timeouts are its own limits, not the caller's deadline: they are
 * connection failures, named by their code.
 */
export function classifyHttpError(err: unknown, phase: HttpPhase): HttpFailure {
  const name = err instanceof Error ? err.name : typeof err;
  const code = codeOf(err);
  return { kind: kindOf(name, code, phase), phase, detail: code ?? name, cause: err };
}
