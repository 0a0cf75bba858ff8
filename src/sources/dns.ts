import type { DnsSourceConfig } from "../config/schema.js";
import { type DnsQueryOptions, type RecordType, resolveRecords } from "../dns/client.js";
import { parseResolver, type ResolverAddress } from "../dns/resolver.js";
import { systemResolvers } from "../dns/system.js";
import { DnsError, SourceError } from "../errors.js";
import type { RawEntry, Source, SourceResult } from "./types.js";

export interface DnsSourceOptions {
  /** Used when the config names no resolvers; defaults to /etc/resolv.conf. */
  defaultResolvers?: () => ResolverAddress[];
  now?: () => number;
}

interface Sighting {
  hostname: string;
  resolvers: Set<string>;
  ttl: number;
}

const TYPES: RecordType[] = ["A", "AAAA"];

/** Everything one resolver says about all the names; throws when any question fails or a name has no address. */
async function askResolver(resolver: ResolverAddress, names: string[], options: DnsQueryOptions): Promise<Array<{ hostname: string; address: string; ttl: number }>> {
  const answers = await Promise.all(
    names.flatMap((hostname) =>
      TYPES.map(async (type) => ({ hostname, type, answer: await resolveRecords(resolver, hostname, type, options) })),
    ),
  );
  for (const hostname of names) {
    const count = answers.filter((a) => a.hostname === hostname).reduce((n, a) => n + a.answer.records.length, 0);
    if (count === 0) {
      throw new DnsError("E_DNS_EMPTY", resolver.label, hostname, "no A or AAAA records (empty answer)");
    }
  }
  return answers.flatMap(({ hostname, answer }) => answer.records.map((r) => ({ hostname, address: r.address, ttl: r.ttl })));
}

export function dnsSource(config: DnsSourceConfig, options: DnsSourceOptions = {}): Source {
  const now = options.now ?? Date.now;
  const resolvers = config.resolvers
    ? config.resolvers.map((text) => parseResolver(text) as ResolverAddress)
    : (options.defaultResolvers ?? systemResolvers)();
  const queryOptions: DnsQueryOptions = { timeoutMs: config.timeoutMs, retries: config.retries, requireDnssec: config.requireDnssec };

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
        const first = failures[0]?.error as (Error & { code?: string }) | undefined;
        const reasons = failures.map((f) => f.error.message).join("; ");
        throw new SourceError(
          first?.code?.replace(/^E_DNS_/, "E_SOURCE_DNS_") ?? "E_SOURCE_DNS_FAILED",
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
          const key = `${hostname}\u0000${address}`;
          const seen = sightings.get(key) ?? { hostname, resolvers: new Set<string>(), ttl };
          seen.resolvers.add(label);
          seen.ttl = Math.min(seen.ttl, ttl);
          sightings.set(key, seen);
        }
      });
      const perAddress = new Map<string, Set<string>>();
      for (const [key, seen] of sightings) {
        const address = key.split("\u0000")[1] as string;
        const all = perAddress.get(address) ?? new Set<string>();
        seen.resolvers.forEach((r) => all.add(r));
        perAddress.set(address, all);
      }
      const entries: RawEntry[] = [];
      for (const [key, seen] of sightings) {
        const address = key.split("\u0000")[1] as string;
        if ((perAddress.get(address)?.size ?? 0) < config.quorum) continue;
        entries.push({
          value: address,
          provenance: { source: config.name, hostname: seen.hostname, resolvers: [...seen.resolvers].sort(), ttl: seen.ttl },
        });
      }
      return { name: config.name, type: "dns", entries, durationMs: now() - started };
    },
  };
}
