export const MASK = "***";

/**
 * Keeps a URL recognisable while hiding what may be a secret: credentials,
 * every path segment after the first, and the query.
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
  const first = segments.length > 0 ? `/${segments[0]}` : "";
  const hidden = segments.length > 1 || url.search !== "" || url.hash !== "" ? `/${MASK}` : "";
  return `${url.protocol}//${credentials}${url.host}${first}${hidden}`;
}
