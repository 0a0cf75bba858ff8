import { type ErrorCode, SourceError } from "../errors.js";
import type { Scrubber } from "../util/secrets.js";

export type FeedFormat = "dnsjson" | "github-meta" | "lines" | "json";

/**
 * Which feed a body came from, for its errors: the source's name, its URL with
 * credentials redacted, and the process's scrubber, which takes the config's
 * secrets out of the body text an error quotes.
 */
export interface FeedOrigin {
  source: string;
  url: string;
  scrubber: Scrubber;
}

/** Quoted body text: scrubbed whole, then cut (a cut first could leave a secret's first characters). */
function quoted(origin: FeedOrigin, text: string, limit: number): string {
  return origin.scrubber.start(text, limit);
}

function feedError(origin: FeedOrigin, code: ErrorCode, message: string): SourceError {
  return new SourceError(code, origin.source, `${origin.url}: ${message}`);
}

export const JSON_FORMATS: ReadonlySet<FeedFormat> = new Set(["dnsjson", "github-meta", "json"]);

function looksLikeHtml(body: string): boolean {
  return /^\s*<(!doctype|html|head|body|\?xml|!--)/i.test(body);
}

/** No feed format nests deeper than a few levels; a deeper document is hostile or broken. */
const MAX_JSON_DEPTH = 32;

/** The deepest nesting of arrays and objects, counted outside strings, without parsing. */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) deepest = Math.max(deepest, ++depth);
    else if (c === 93 || c === 125) depth--;
  }
  return deepest;
}

function parseJson(body: string, origin: FeedOrigin): unknown {
  const depth = jsonDepth(body);
  if (depth > MAX_JSON_DEPTH) throw feedError(origin, "E_SOURCE_HTTP_SHAPE", `JSON nested ${depth} levels deep, more than ${MAX_JSON_DEPTH}: not a feed`);
  try {
    return JSON.parse(body);
  } catch (err) {
    // V8 quotes a snippet of the body cut at its own length, which may end inside a secret: it is left out.
    const reason = (err as Error).message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, "");
    throw feedError(origin, "E_SOURCE_HTTP_PARSE", `not valid JSON (${quoted(origin, reason, 80)}); truncated or not a feed`);
  }
}

function stringList(value: unknown, where: string, origin: FeedOrigin): string[] {
  if (!Array.isArray(value)) throw feedError(origin, "E_SOURCE_HTTP_SHAPE", `expected a list at ${where}, got ${value === null ? "null" : typeof value}`);
  const strings = value.filter((v: unknown): v is string => typeof v === "string");
  if (strings.length !== value.length) {
    const bad: unknown = value.find((v: unknown) => typeof v !== "string");
    throw feedError(origin, "E_SOURCE_HTTP_SHAPE", `expected strings at ${where}, got ${quoted(origin, JSON.stringify(bad) ?? typeof bad, 60)}`);
  }
  return strings;
}

function field(document: unknown, key: string, where: string, origin: FeedOrigin): unknown {
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw feedError(origin, "E_SOURCE_HTTP_SHAPE", `expected an object at ${where}`);
  }
  // Own fields only: a key such as "constructor" is not in a feed because every object inherits one.
  const found = Object.entries(document).find(([name]) => name === key);
  if (!found) throw feedError(origin, "E_SOURCE_HTTP_SHAPE", `no "${key}" in ${where} (keys: ${Object.keys(document).slice(0, 10).join(", ")})`);
  return found[1];
}

/**
 * The values of a `lines` body: one per line, `#` comments and blank lines
 * left out. Read in place, line by line: splitting first would hold every
 * line of a 5 MB feed twice before a single value is kept.
 */
function listedLines(body: string): string[] {
  const values: string[] = [];
  // The next `#` is looked for again only once passed, so a body without comments is scanned once, not once per line.
  let hash = body.indexOf("#");
  for (let start = 0; start < body.length;) {
    const newline = body.indexOf("\n", start);
    const end = newline === -1 ? body.length : newline;
    if (hash !== -1 && hash < start) hash = body.indexOf("#", start);
    const value = body.slice(start, hash !== -1 && hash < end ? hash : end).trim();
    if (value !== "") values.push(value);
    start = end + 1;
  }
  return values;
}

/**
 * Values from a feed body, before any address validation. Pure. An empty
 * list is an error: the published mirrors answer 200 with an empty list when
 * they fail, and an empty answer must never remove anything.
 */
export function parseFeed(format: FeedFormat, body: string, key: string | undefined, origin: FeedOrigin): string[] {
  if (looksLikeHtml(body)) throw feedError(origin, "E_SOURCE_HTTP_HTML", "got an HTML page, not a feed");
  let values: string[];
  switch (format) {
    case "dnsjson":
      values = stringList(field(field(parseJson(body, origin), "results", "the document", origin), "records", "results", origin), "results.records", origin);
      break;
    case "github-meta":
      values = stringList(field(parseJson(body, origin), key as string, "the document", origin), key as string, origin);
      break;
    case "json": {
      const document = parseJson(body, origin);
      values = key === undefined ? stringList(document, "the top level", origin) : stringList(field(document, key, "the document", origin), key, origin);
      break;
    }
    case "lines":
      values = listedLines(body);
      break;
  }
  if (values.length === 0) throw feedError(origin, "E_SOURCE_HTTP_EMPTY", "the feed lists no address (an empty answer is never trusted)");
  return values;
}
