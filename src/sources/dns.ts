import type { Dispatcher } from "undici";
import type { DnsSourceConfig } from "../config/schema.js";
import { type DnsQueryOptions, type RecordType, resolveRecords } from "../dns/client.js";
import { parseResolver, type ResolverAddress } from "../util/resolver.js";
import { systemResolvers } from "../dns/system.js";
import { DnsError, type ErrorCode, errorCode, SourceError } from "../errors.js";
import type { RawEntry, Source, SourceResult } from "./types.js";
import type { Disagreement } from "../model/provenance.js";

export interface DnsSourceOptions {
  /** For DNS over HTTPS resolvers. */
  dispatcher?: Dispatcher;
  /** Used when the config names no resolvers; defaults to /etc/resolv.conf. */
  defaultResolvers?: () => ResolverAddress[];
  now?: () => number;
}

interface Sighting {
  hostname: string;
  address: string;
  resolvers: Set<string>;
  ttl: number;
}

const TYPES: RecordType[] = ["A", "AAAA"];

/** Everything one resolver says about all the names; throws when any question fails or a name has no address. */
async function askResolver(
  resolver: ResolverAddress,
  names: string[],
  options: DnsQueryOptions,
): Promise<Array<{ hostname: string; address: string; ttl: number }>> {
  const answers = await Promise.all(
    names.flatMap((hostname) => TYPES.map(async (type) => ({ hostname, type, answer: await resolveRecords(resolver, hostname, type, options) }))),
  );
  for (const hostname of names) {
    const count = answers.filter((a) => a.hostname === hostname).reduce((n, a) => n + a.answer.records.length, 0);
    if (count === 0) {
      throw new DnsError("E_DNS_EMPTY", resolver.label, hostname, "no A or AAAA records (empty answer)");
    }
  }
  return answers.flatMap(({ hostname, answer }) => answer.records.map((r) => ({ hostname, address: r.address, ttl: r.ttl })));
}

/** A resolver's failure, as the source reports it. */
const SOURCE_CODE_OF: Partial<Record<ErrorCode, ErrorCode>> = {
  E_DNS_TIMEOUT: "E_SOURCE_DNS_TIMEOUT",
  E_DNS_SERVFAIL: "E_SOURCE_DNS_SERVFAIL",
  E_DNS_NXDOMAIN: "E_SOURCE_DNS_NXDOMAIN",
  E_DNS_RCODE: "E_SOURCE_DNS_RCODE",
  E_DNS_EMPTY: "E_SOURCE_DNS_EMPTY",
  E_DNS_NETWORK: "E_SOURCE_DNS_NETWORK",
  E_DNS_MALFORMED: "E_SOURCE_DNS_MALFORMED",
  E_DNS_MISMATCH: "E_SOURCE_DNS_MISMATCH",
  E_DNS_CNAME_LOOP: "E_SOURCE_DNS_CNAME_LOOP",
  E_DNS_INSECURE: "E_SOURCE_DNS_INSECURE",
  E_DNS_DOH_HTTP: "E_SOURCE_DNS_DOH_HTTP",
};

export function dnsSource(config: DnsSourceConfig, options: DnsSourceOptions = {}): Source {
  const now = options.now ?? Date.now;
  const resolvers = config.resolvers ? config.resolvers.map((text) => parseResolver(text) as ResolverAddress) : (options.defaultResolvers ?? systemResolvers)();
  const queryOptions: DnsQueryOptions = {
    timeoutMs: config.timeoutMs,
    retries: config.retries,
    requireDnssec: config.requireDnssec,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  };

  return {
    name: config.name,
    type: "dns",
    async fetch(): Promise<SourceResult> {
      const started = now();
      if (resolvers.length === 0) {
        throw new SourceError("E_SOURCE_DNS_NO_RESOLVER", config.name, "no resolvers configured and none found in /etc/resolv.conf");
      }
      const outcomes = await Promise.allSettled(resolvers.map((r) => askResolver(r, config.names, queryOptions)));
      const failures = outcomes.flatMap((o, i) => (o.status === "rejected" ? [{ resolver: resolvers[i] as ResolverAddress, error: o.reason as Error }] : []));
      const answered = outcomes.length - failures.length;
      if (answered < config.quorum) {
        const first = failures[0]?.error;
        const reasons = failures.map((f) => f.error.message).join("; ");
        throw new SourceError(
          SOURCE_CODE_OF[errorCode(first)] ?? "E_SOURCE_DNS_FAILED",
          config.name,
          `${answered} of ${resolvers.length} resolvers answered, quorum is ${config.quorum}: ${reasons}`,
          { cause: first },
        );
      }
      const sightings = new Map<string, Sighting>();
      outcomes.forEach((outcome, i) => {
        if (outcome.status !== "fulfilled") return;
        const label = (resolvers[i] as ResolverAddress).label;
        for (const { hostname, address, ttl } of outcome.value) {
          const key = `${hostname} ${address}`;
          const seen = sightings.get(key) ?? { hostname, address, resolvers: new Set<string>(), ttl };
          seen.resolvers.add(label);
          seen.ttl = Math.min(seen.ttl, ttl);
          sightings.set(key, seen);
        }
      });
      const labels = resolvers.map((r) => r.label);
      const entries: RawEntry[] = [];
      const disagreements: Disagreement[] = [];
      for (const seen of sightings.values()) {
        const returnedBy = labels.filter((l) => seen.resolvers.has(l));
        const counted = returnedBy.length >= config.quorum;
        if (returnedBy.length < labels.length) {
          disagreements.push({
            address: seen.address,
            hostname: seen.hostname,
            returnedBy,
            missingFrom: labels.filter((l) => !seen.resolvers.has(l)),
            counted,
          });
        }
        if (counted) {
          entries.push({ value: seen.address, provenance: { source: config.name, hostname: seen.hostname, resolvers: returnedBy, ttl: seen.ttl } });
        }
      }
      // A name whose every address fell below the quorum would otherwise vanish and be removed.
      const starved = config.names.filter((name) => !entries.some((e) => e.provenance.hostname === name));
      if (starved.length > 0) {
        throw new SourceError(
          "E_SOURCE_DNS_QUORUM",
          config.name,
          `no address of ${starved.join(", ")} was returned by ${config.quorum} resolvers (the quorum); the resolvers disagree`,
        );
      }
      return { name: config.name, type: "dns", entries, durationMs: now() - started, ...(disagreements.length > 0 ? { disagreements } : {}) };
    },
  };
}
