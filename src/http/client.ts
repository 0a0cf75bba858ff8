import type { Dispatcher } from "undici";
import type { AllowlistError } from "../errors.js";
import { headersWithUrlAuth, withBasicAuth } from "../util/url.js";
import { readStart, readWhole } from "./body.js";
import { classifyHttpError, type HttpFailure } from "./failure.js";
import { headerValue } from "./headers.js";
import { followWithinOrigin } from "./redirects.js";

export interface HttpCall {
  method: "GET" | "POST";
  /** Its credentials are sent in a Basic Authorization header (undici would drop them); a configured one wins. */
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** One deadline for the whole exchange: connecting, every redirect and the body. */
  timeoutMs: number;
  /** Redirects to follow within the URL's origin; without it a 3xx is the answer. */
  maxRedirections?: number;
  /** undici's global dispatcher by default (tests point theirs at loopback or give it a CA). */
  dispatcher?: Dispatcher;
  /** The caller's error for each failure: nothing else is thrown. */
  fail: (failure: HttpFailure) => AllowlistError;
}

export interface HttpResponse {
  status: number;
  /** The URL that answered, after redirects, without credentials. */
  url: string;
  header(name: string): string | undefined;
  /** The whole body; one larger than `limit` bytes is a `too-large` failure, never silently cut. */
  read(limit: number): Promise<Buffer>;
  /** The first `limit` bytes of a reply that is only shown; a flood is not read further. */
  readStart(limit: number): Promise<Buffer>;
  /** Frees the connection without reading the body; a failure to is nobody's concern. */
  discard(): Promise<void>;
}

const USER_AGENT = "travis-allowlist";

function answer(response: Dispatcher.ResponseData, url: string, fail: HttpCall["fail"]): HttpResponse {
  const receive = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      throw fail(classifyHttpError(err, "body"));
    }
  };
  return {
    status: response.statusCode,
    url,
    header: (name) => headerValue(response.headers, name),
    async read(limit) {
      const bytes = await receive(() => readWhole(response.body, limit));
      if (bytes === undefined) throw fail({ kind: "too-large", phase: "body", detail: `larger than ${limit} bytes` });
      return bytes;
    },
    readStart: (limit) => receive(() => readStart(response.body, limit)),
    discard: () => response.body.dump().catch(() => undefined),
  };
}

/**
 * The one HTTP client: an undici request under one deadline, failures
 * classified for the caller to name, bodies read within a bound. undici is
 * loaded on the first request, so a run that speaks no HTTP never loads it.
 */
export async function send(call: HttpCall): Promise<HttpResponse> {
  const { request } = await import("undici");
  const { url, authorization } = withBasicAuth(call.url);
  const headers = { "user-agent": USER_AGENT, ...headersWithUrlAuth(call.headers, authorization) };
  const signal = AbortSignal.timeout(call.timeoutMs);
  const exchange = async (target: string) => {
    try {
      return await request(target, {
        method: call.method,
        headers,
        signal,
        ...(call.body === undefined ? {} : { body: call.body }),
        ...(call.dispatcher ? { dispatcher: call.dispatcher } : {}),
      });
    } catch (err) {
      throw call.fail(classifyHttpError(err, "request"));
    }
  };
  if (call.maxRedirections === undefined) return answer(await exchange(url), url, call.fail);
  const followed = await followWithinOrigin(url, exchange, call.maxRedirections, call.fail);
  return answer(followed.response, followed.url, call.fail);
}
