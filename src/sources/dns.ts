import type { Dispatcher } from "undici";
import type { DnsSourceConfig } from "../config/schema.js";
import { type DnsQueryOptions, type RecordType, resolveRecords } from "../dns/client.js";
import type { ResolverAddress } from "../util/resolver.js";
import { systemResolvers } from "../dns/system.js";
import { DnsError, SourceError } from "../errors.js";
import type { Source, SourceResult } from "./types.js";
import { quorumMissed, type ResolverOutcome, type SeenAddress, tallySightings } from "./dns-quorum.js";

export interface DnsSourceOptions {
  /** For DNS over HTTPS resolvers. */
  dispatcher?: Dispatcher;
  /** Used when the config names no resolvers; defaults to /etc/resolv.conf. */
  defaultResolvers?: () => ResolverAddress[];
  now?: () => number;
}

const TYPES: RecordType[] = ["A", "AAAA"];

/** The addresses of one name from one resolver; a name without any A or AAAA record is a failure. */
async function askName(resolver: ResolverAddress, hostname: string, options: DnsQueryOptions): Promise<SeenAddress[]> {
  const answers = await Promise.all(TYPES.map((type) => resolveRecords(resolver, hostname, type, options)));
  const sighted = answers.flatMap((answer) => answer.records.map((r) => ({ hostname, address: r.address, ttl: r.ttl })));
  if (sighted.length === 0) throw new DnsError("E_SOURCE_DNS_EMPTY", resolver.label, { hostname }, "no A or AAAA records (empty answer)");
  return sighted;
}

/** Everything one resolver says about all the names, or every name it failed on. */
async function askResolver(resolver: ResolverAddress, names: string[], options: DnsQueryOptions): Promise<ResolverOutcome> {
  const answers = await Promise.all(
    names.map(async (hostname): Promise<Omit<ResolverOutcome, "resolver">> => {
      try {
        return { sighted: await askName(resolver, hostname, options), failures: [] };
      } catch (error) {
        return { sighted: [], failures: [{ resolver: resolver.label, hostname, error }] };
      }
    }),
  );
  return { resolver: resolver.label, sighted: answers.flatMap((a) => a.sighted), failures: answers.flatMap((a) => a.failures) };
}

export function dnsSource(config: DnsSourceConfig, options: DnsSourceOptions = {}): Source {
  const now = options.now ?? Date.now;
  const resolvers = config.resolvers ?? (options.defaultResolvers ?? systemResolvers)();
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
      const outcomes = await Promise.all(resolvers.map((r) => askResolver(r, config.names, queryOptions)));
      const answering = outcomes.filter((o) => o.failures.length === 0);
      if (answering.length < config.quorum) {
        throw quorumMissed(
          config,
          resolvers.length,
          answering.length,
          outcomes.flatMap((o) => o.failures),
        );
      }
      const { entries, disagreements } = tallySightings(
        config,
        resolvers.map((r) => r.label),
        answering,
      );
      // A name whose every address fell below the quorum would otherwise vanish and be removed.
      const starved = config.names.filter((name) => !entries.some((e) => e.provenance.hostname === name));
      if (starved.length > 0) {
        throw new SourceError(
          "E_SOURCE_DNS_QUORUM",
          config.name,
          `no address of ${starved.join(", ")} was returned by ${config.quorum} resolvers (the quorum); the resolvers disagree`,
        );
      }
      const published = entries.map(({ value, provenance }) => ({ provenance, values: [value] }));
      return { name: config.name, type: "dns", published, durationMs: now() - started, ...(disagreements.length > 0 ? { disagreements } : {}) };
    },
  };
}
