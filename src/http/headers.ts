import type { IncomingHttpHeaders } from "node:http";

/** The first value of a response header; undici gives a repeated one as an array. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
