import { isIP } from "node:net";
import { redactUrl } from "./url.js";

export interface UdpResolver {
  kind: "udp";
  host: string;
  port: number;
  /** As written in the config, used in provenance and messages. */
  label: string;
}

/** DNS over HTTPS (RFC 8484). */
export interface DohResolver {
  kind: "doh";
  url: string;
  label: string;
}

export type ResolverAddress = UdpResolver | DohResolver;

/** Parses `127.0.0.1`, `127.0.0.1:5353`, `::1`, `[::1]:53` or `https://host/dns-query`. */
export function parseResolver(text: string): ResolverAddress | undefined {
  if (text.startsWith("https://")) {
    try {
      const url = new URL(text);
      // The label goes into provenance, errors and the audit trail: a token in the path or query stays out of them.
      return url.username || url.password ? undefined : { kind: "doh", url: url.toString(), label: redactUrl(text) };
    } catch {
      return undefined;
    }
  }
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  let host: string;
  let port = 53;
  if (bracketed) {
    host = bracketed[1] as string;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(text) === 6) {
    host = text;
  } else {
    const [h, p, ...rest] = text.split(":");
    if (rest.length > 0 || h === undefined) return undefined;
    host = h;
    if (p !== undefined) port = Number(p);
  }
  if (isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { kind: "udp", host, port, label: text };
}

/** The nameservers of a resolv.conf text, in order. */
export function parseResolvConf(text: string): UdpResolver[] {
  const found: UdpResolver[] = [];
  for (const line of text.split("\n")) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    const address = match?.[1]?.replace(/%.*$/, "");
    const parsed = address === undefined ? undefined : parseResolver(isIP(address) === 6 ? `[${address}]` : address);
    if (parsed?.kind === "udp") found.push({ ...parsed, label: address as string });
  }
  return found;
}
