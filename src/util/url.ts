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
