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

interface SeenAddress {
  hostname: string;
  address: string;
  ttl: number;
}

/** A question one resolver could not answer with an address. */
interface NameFailure {
  resolver: string;
  hostname: string;
  error: Error;
}

/** The addresses of one name from one resolver; a name without any A or AAAA record is a failure. */
async function askName(resolver: ResolverAddress, hostname: string, options: DnsQueryOptions): Promise<SeenAddress[]> {
  const answers = await Promise.all(TYPES.map((type) => resolveRecords(resolver, hostname, type, options)));
  const sighted = answers.flatMap((answer) => answer.records.map((r) => ({ hostname, address: r.address, ttl: r.ttl })));
  if (sighted.length === 0) throw new DnsError("E_DNS_EMPTY", resolver.label, hostname, "no A or AAAA records (empty answer)");
  return sighted;
}

/** Everything one resolver says about all the names, or every name it failed on. */
async function askResolver(resolver: ResolverAddress, names: string[], options: DnsQueryOptions): Promise<{ sighted: SeenAddress[]; failures: NameFailure[] }> {
  const outcomes = await Promise.allSettled(names.map((hostname) => askName(resolver, hostname, options)));
  const failures = outcomes.flatMap((o, i) =>
    o.status === "rejected" ? [{ resolver: resolver.label, hostname: names[i] as string, error: o.reason as Error }] : [],
  );
  return { sighted: outcomes.flatMap((o) => (o.status === "fulfilled" ? o.value : [])), failures };
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
      const outcomes = await Promise.all(resolvers.map((r) => askResolver(r, config.names, queryOptions)));
      const failures = outcomes.flatMap((o) => o.failures);
      const answered = outcomes.filter((o) => o.failures.length === 0).length;
      if (answered < config.quorum) throw quorumMissed(config, resolvers.length, answered, failures);
      const sightings = new Map<string, Sighting>();
      outcomes.forEach((outcome, i) => {
        if (outcome.failures.length > 0) return;
        const label = (resolvers[i] as ResolverAddress).label;
        for (const { hostname, address, ttl } of outcome.sighted) {
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

/** Answers that settle the question: the resolver was reached and said there is nothing to find. */
const DEFINITIVE: Partial<Record<ErrorCode, { says: string; answered: string }>> = {
  E_DNS_NXDOMAIN: { says: "does not exist", answered: "answered NXDOMAIN" },
  E_DNS_EMPTY: { says: "has no A or AAAA records", answered: "answered with no A or AAAA records" },
};

/**
 * Too few resolvers returned addresses. When resolvers did answer, that the
 * name does not exist (or has no address) is the news, with the name and who
 * said so; "not answered" is kept for resolvers that really did not.
 */
function quorumMissed(config: DnsSourceConfig, asked: number, answered: number, failures: NameFailure[]): SourceError {
  const definitiveCode = (["E_DNS_NXDOMAIN", "E_DNS_EMPTY"] as const).find((code) => failures.some((f) => errorCode(f.error) === code));
  const tally = `${answered} of ${asked} resolvers returned addresses, quorum is ${config.quorum}`;
  if (definitiveCode === undefined) {
    const first = failures[0]?.error;
    const reasons = failures.map((f) => f.error.message).join("; ");
    const code = SOURCE_CODE_OF[errorCode(first)] ?? "E_SOURCE_DNS_FAILED";
    return new SourceError(code, config.name, `${answered} of ${asked} resolvers answered, quorum is ${config.quorum}: ${reasons}`, { cause: first });
  }
  const wording = DEFINITIVE[definitiveCode] as { says: string; answered: string };
  const settled = failures.filter((f) => errorCode(f.error) === definitiveCode);
  const byName = new Map<string, { hostname: string; missing: string; resolvers: string[] }>();
  for (const f of settled) {
    const missing = missingName(f);
    const finding = byName.get(`${f.hostname} ${missing}`) ?? { hostname: f.hostname, missing, resolvers: [] };
    finding.resolvers.push(f.resolver);
    byName.set(`${f.hostname} ${missing}`, finding);
  }
  const findings = [...byName.values()].map(({ hostname, missing, resolvers }) => {
    const subject = missing === hostname ? hostname : `${hostname} is an alias of ${missing}, which`;
    return `${subject} ${wording.says}: ${resolvers.join(", ")} ${wording.answered}`;
  });
  const others = failures.filter((f) => !settled.includes(f)).map((f) => f.error.message);
  const rest = [...others, ...(answered > 0 ? [tally] : [])].map((text) => `; ${text}`).join("");
  const fix = definitiveCode === "E_DNS_NXDOMAIN" ? " (check the source's names for a typo)" : "";
  return new SourceError(SOURCE_CODE_OF[definitiveCode] as ErrorCode, config.name, `${findings.join("; ")}${fix}${rest}`, { cause: settled[0]?.error });
}

/** The name the resolver found missing: the asked one, or the end of its CNAME chain. */
function missingName(failure: NameFailure): string {
  if (!(failure.error instanceof DnsError)) return failure.hostname;
  const { question } = failure.error;
  const slash = question.lastIndexOf("/");
  return slash === -1 ? question : question.slice(0, slash);
}
