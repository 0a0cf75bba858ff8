/**
 * Remote text (a sink's reply, a live key, a DNS name) must not drive a
 * terminal: control characters other than newline and tab are shown as
 * `\xNN`, never passed through.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's whole purpose
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The same for a JSON log line, where such characters arrive escaped as `\u00NN`: keep them escaped for a pretty printer too. */
export function printableJsonLine(line: string): string {
  return line.replace(/\\u00([01][0-9a-fA-F]|7[fF]|[89][0-9a-fA-F])/g, (escaped, hex: string) =>
    hex.toLowerCase() === "09" || hex.toLowerCase() === "0a" ? escaped : `\\\\x${hex.toLowerCase()}`,
  );
}
