import type { Dispatcher } from "undici";
import type { AllowlistError } from "../errors.js";
import { redactUrl } from "../util/url.js";
import type { HttpFailure } from "./failure.js";
import { headerValue } from "./headers.js";

type Exchange = (url: string) => Promise<Dispatcher.ResponseData>;

/** A 3xx that points somewhere; a 304 is an answer (the cached copy is current), not a redirect. */
function redirectTarget(response: Dispatcher.ResponseData): string | undefined {
  const { statusCode } = response;
  if (statusCode < 300 || statusCode >= 400 || statusCode === 304) return undefined;
  return headerValue(response.headers, "location") || undefined;
}

/**
 * Follows redirects by hand, only within the first URL's origin: never to
 * another host, never from https to http, so credentials sent to the first
 * URL go nowhere else. undici's redirect interceptor follows any origin.
 * A 3xx without a location is the answer, for the caller to judge.
 */
export async function followWithinOrigin(
  start: string,
  exchange: Exchange,
  maxRedirections: number,
  fail: (failure: HttpFailure) => AllowlistError,
): Promise<{ response: Dispatcher.ResponseData; url: string }> {
  const origin = new URL(start).origin;
  let url = start;
  for (let redirects = 0; ; redirects++) {
    const response = await exchange(url);
    const location = redirectTarget(response);
    if (location === undefined) return { response, url };
    await response.body.dump().catch(() => undefined);
    const refuse = (detail: string, cause?: unknown) => fail({ kind: "redirect", phase: "request", detail, cause });
    const status = `HTTP ${response.statusCode}`;
    if (redirects >= maxRedirections) throw refuse(`${status}: too many redirects (more than ${maxRedirections})`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch (err) {
      throw refuse(`${status} to an invalid location`, err);
    }
    if (next.origin !== origin) throw refuse(`${status} to another origin (${redactUrl(next.href)}): refused, only ${origin} is trusted`);
    url = next.href;
  }
}
