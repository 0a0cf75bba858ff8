import { z } from "zod";
import { parseDuration } from "./duration.js";
import { parseLimit } from "./limits.js";
import { parseResolver } from "../util/resolver.js";

/**
 * A config value parsed once: as the file says it, which `config check` shows
 * and the config digest covers, beside what the program makes of it.
 */
export interface Setting<Written, Value> {
  readonly written: Written;
  readonly value: Value;
}

/** A transform that parses the written value once; what does not parse is an issue with the key's own message. */
function settingOf<Written, Value>(parse: (written: Written) => Value | undefined, message: string) {
  return (written: Written, ctx: z.core.$RefinementCtx<Written>): Setting<Written, Value> => {
    const value = parse(written);
    if (value === undefined) {
      ctx.issues.push({ code: "custom", message, input: written });
      return z.NEVER;
    }
    return { written, value };
  };
}

const DURATION_MESSAGE = 'expected a duration such as "1h", "30m" or "0"';
/** "90s", "1h30m" or "0": milliseconds. */
export const duration = z.string({ error: DURATION_MESSAGE }).transform(settingOf(parseDuration, DURATION_MESSAGE));

const LIMIT_MESSAGE = 'expected a count (e.g. 10) or a percentage (e.g. "25%")';
/** 10 or "25%": a count or a fraction. */
export const limit = z.union([z.number(), z.string()], { error: LIMIT_MESSAGE }).transform(settingOf(parseLimit, LIMIT_MESSAGE));

const RESOLVER_MESSAGE = "expected an IP address with an optional port (127.0.0.1:5353, [::1]:53) or https://…/dns-query";
/** `127.0.0.1:5353`, `[::1]:53` or `https://host/dns-query`: the address to ask. */
export const resolver = z.string({ error: "expected host[:port] or https://…/dns-query" }).transform(settingOf(parseResolver, RESOLVER_MESSAGE));
