import { isIP } from "node:net";

/** Shorter values (`1`, `on`) would scrub ordinary text and protect nothing. */
const MIN_SECRET_LENGTH = 4;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i;
const WORD_VALUE = /^(?:true|false|yes|no|on|off|null)$/i;

/**
 * An address, a CIDR, a number or a boolean is configuration, not a secret:
 * it is written into HAProxy's map, counted, compared. Scrubbing it would
 * erase entries and counts from results and sealed audit records.
 */
export function isPlainValue(value: string): boolean {
  if (NUMBER.test(value) || WORD_VALUE.test(value)) return true;
  const slash = value.indexOf("/");
  const address = slash === -1 ? value : value.slice(0, slash);
  const prefix = slash === -1 ? undefined : value.slice(slash + 1);
  return isIP(address) !== 0 && (prefix === undefined || /^\d{1,3}$/.test(prefix));
}

function decodes(form: string, value: string, plusIsSpace: boolean): boolean {
  try {
    return decodeURIComponent(plusIsSpace ? form.replace(/\+/g, " ") : form) === value;
  } catch {
    return false;
  }
}

/**
 * The same value as it may appear in a URL or in what a peer echoes of it:
 * percent-encoded by `encodeURIComponent` and `encodeURI`, by the WHATWG URL
 * parser in a path, a query and userinfo (each encodes a different set: `'`
 * in a query, `|` in userinfo), as a form field (spaces as `+`), and with
 * lower-case hex digits as some servers write them. A form is kept only when
 * it decodes back to the whole value: one cut short by a `?` or `#` in the
 * value would be a fragment of it, short enough to scrub ordinary text.
 */
function urlForms(value: string): string[] {
  const forms = new Set<string>([encodeURIComponent(value)]);
  const add = (make: () => string, plusIsSpace = false) => {
    let form: string;
    try {
      form = make();
    } catch {
      return;
    }
    if (decodes(form, value, plusIsSpace)) forms.add(form);
  };
  add(() => encodeURI(value));
  add(() => new URL(`http://x/${value}`).pathname.slice(1));
  add(() => new URL(`http://x/?q=${value}`).search.slice(3));
  add(() => new URL(`http://x/?q=${value}`).search.slice(3).replace(/%20/g, "+"), true);
  add(() => new URLSearchParams({ q: value }).toString().slice(2), true);
  add(() => {
    const url = new URL("http://x/");
    url.password = value;
    return url.password;
  });
  add(() => {
    const url = new URL("http://x/");
    url.username = value;
    return url.username;
  });
  for (const form of [...forms]) forms.add(form.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()));
  return [...forms];
}

/**
 * The values that came from `${VAR}` in the config, and its literal
 * credentials. Each leaves the process only towards its own destination: every
 * other output (results, logs, audit records, alert bodies, metrics, caches)
 * passes through the one Scrubber the program makes at its start.
 */
export class Scrubber {
  private readonly known = new Set<string>();
  private patterns: RegExp | undefined;

  constructor(values: Iterable<string> = []) {
    this.add(values);
  }

  add(values: Iterable<string>): void {
    for (const value of values) {
      if (value.length < MIN_SECRET_LENGTH || isPlainValue(value)) continue;
      // The same value as it appears inside JSON and inside a URL (and a URL inside JSON).
      for (const form of [value, ...urlForms(value)]) {
        this.known.add(form);
        this.known.add(JSON.stringify(form).slice(1, -1));
      }
    }
    const alternatives = [...this.known].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.patterns = alternatives.length > 0 ? new RegExp(alternatives.join("|"), "g") : undefined;
  }

  text(text: string): string {
    return this.patterns ? text.replace(this.patterns, "***") : text;
  }

  /**
   * The start of remote text for a message: scrubbed whole first, then cut. A
   * cut first could leave a secret's first characters, which no longer match.
   */
  start(text: string, limit: number): string {
    return this.text(text).slice(0, limit);
  }

  /**
   * A value with every secret inside its strings replaced, for records built
   * from run results. It is walked rather than scrubbed as JSON text: a secret
   * that matched across JSON punctuation there would break the text, or change
   * the value's shape.
   */
  value<T>(value: T): T {
    // Arrays stay arrays, objects their fields (a key changes only if it holds a secret), other values are untouched.
    return this.patterns ? (this.copy(value) as T) : value;
  }

  private copy(value: unknown): unknown {
    if (typeof value === "string") return this.text(value);
    if (Array.isArray(value)) return value.map((item) => this.copy(item));
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [this.text(key), this.copy(v)]));
  }
}
