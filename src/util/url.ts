export const MASK = "***";

/**
 * A path segment people name (`services`, `v1`, `ip-ranges.json`), as opposed
 * to a generated token (`T0A1B2C3`, `3f9a1c...`), which mixes in digits or runs long.
 */
const NAMED_SEGMENT = /^[A-Za-z][A-Za-z._-]{0,23}[0-9]{0,2}$/;

/**
 * Keeps a URL recognisable while hiding what may be a secret: credentials,
 * every path segment after the first, the first too unless it reads as a
 * name, and the query.
 * `https://hooks.slack.com/services/T0/B0/x` → `https://hooks.slack.com/services/***`.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return MASK;
  }
  const credentials = url.username || url.password ? `${MASK}@` : "";
  const segments = url.pathname.split("/").filter((s) => s !== "");
  const shown = segments[0] !== undefined && NAMED_SEGMENT.test(segments[0]) ? segments.slice(0, 1) : [];
  const first = shown.length > 0 ? `/${shown[0]}` : "";
  const hidden = segments.length > shown.length || url.search !== "" || url.hash !== "" ? `/${MASK}` : "";
  return `${url.protocol}//${credentials}${url.host}${first}${hidden}`;
}

/** Decodes percent-escapes, or keeps the text as it is when they do not decode. */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `user:pass` as the Basic scheme sends it (RFC 7617), from the URL's percent-encoded userinfo. */
function basicCredentials(url: URL): string {
  return Buffer.from(`${decoded(url.username)}:${decoded(url.password)}`, "utf8").toString("base64");
}

/**
 * undici drops the credentials of a URL (`https://user:pass@host/…`)
 * without a word: the server would see no Authorization header. This takes
 * them out of the URL and returns them as `Authorization: Basic …`, user and
 * password percent-decoded. A URL without credentials comes back unchanged.
 */
export function withBasicAuth(text: string): { url: string; authorization?: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { url: text };
  }
  if (url.username === "" && url.password === "") return { url: text };
  const authorization = `Basic ${basicCredentials(url)}`;
  url.username = "";
  url.password = "";
  return { url: url.href, authorization };
}

/** Headers with an Authorization from the URL's credentials added, unless one is configured already. */
export function headersWithUrlAuth(headers: Record<string, string> | undefined, authorization: string | undefined): Record<string, string> {
  const own = headers ?? {};
  if (authorization === undefined || Object.keys(own).some((name) => name.toLowerCase() === "authorization")) return own;
  return { ...own, authorization };
}

/** A word in a query parameter's name (`access_token`, `apiKey`, `X-Amz-Signature`) that makes its value a credential whatever it reads like. */
const CREDENTIAL_WORD = /^(?:token|key|apikey|secret|sig|signature|pass|password|passwd|pwd|auth|credentials?|code)$/i;

const namesCredential = (name: string) => name.split(/[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])/).some((word) => CREDENTIAL_WORD.test(word));

/**
 * The parts of a URL written literally in the config that `redactUrl` hides
 * and that read as tokens, to be scrubbed wherever a peer echoes them: the
 * password, a user name that does not read as a name, the Basic credentials
 * made from them, every path segment that does not read as a name, and query
 * values that do not (or whose parameter names a credential). Plain words
 * (`services`, `dns-query`, `json`) are never among them. Each as written and
 * percent-decoded.
 */
export function urlSecrets(text: string): string[] {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [];
  }
  const found = new Set<string>();
  const add = (raw: string) => {
    found.add(raw);
    found.add(decoded(raw));
  };
  if (url.password !== "") add(url.password);
  if (url.username !== "" && !NAMED_SEGMENT.test(decoded(url.username))) add(url.username);
  if (url.username !== "" || url.password !== "") found.add(basicCredentials(url));
  for (const segment of url.pathname.split("/")) {
    if (segment !== "" && !NAMED_SEGMENT.test(decoded(segment))) add(segment);
  }
  for (const pair of url.search.slice(1).split("&")) {
    const equals = pair.indexOf("=");
    if (equals === -1) continue;
    const name = decoded(pair.slice(0, equals).replace(/\+/g, " "));
    const raw = pair.slice(equals + 1);
    const value = decoded(raw.replace(/\+/g, " "));
    if (value === "" || (!namesCredential(name) && NAMED_SEGMENT.test(value))) continue;
    found.add(raw);
    found.add(value);
  }
  found.delete("");
  return [...found];
}
