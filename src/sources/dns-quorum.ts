import type { DnsSourceConfig } from "../config/schema.js";
import { DnsError, type DnsFailureCode, errorCode, SourceError } from "../errors.js";
import type { Disagreement } from "../model/provenance.js";
import type { RawEntry } from "./types.js";

export interface SeenAddress {
  hostname: string;
  address: string;
  ttl: number;
}

/** A question one resolver could not answer with an address. */
export interface NameFailure {
  resolver: string;
  hostname: string;
  error: unknown;
}

/** Everything one resolver said about all the names, and every name it failed on. */
export interface ResolverOutcome {
  resolver: string;
  sighted: SeenAddress[];
  failures: NameFailure[];
}

interface Sighting {
  hostname: string;
  address: string;
  resolvers: Set<string>;
  ttl: number;
}

/** Who returned each address: the resolvers that answered every name, by their labels. */
function sightingsOf(answering: ResolverOutcome[]): Sighting[] {
  const sightings = new Map<string, Sighting>();
  for (const outcome of answering) {
    for (const { hostname, address, ttl } of outcome.sighted) {
      const key = `${hostname} ${address}`;
      const seen = sightings.get(key) ?? { hostname, address, resolvers: new Set<string>(), ttl };
      seen.resolvers.add(outcome.resolver);
      seen.ttl = Math.min(seen.ttl, ttl);
      sightings.set(key, seen);
    }
  }
  return [...sightings.values()];
}

/**
 * The addresses returned by at least `quorum` of the resolvers that answered,
 * and every address some resolver did not return (counted or not).
 */
export function tallySightings(
  config: DnsSourceConfig,
  labels: string[],
  answering: ResolverOutcome[],
): { entries: RawEntry[]; disagreements: Disagreement[] } {
  const entries: RawEntry[] = [];
  const disagreements: Disagreement[] = [];
  for (const seen of sightingsOf(answering)) {
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
  return { entries, disagreements };
}

/** Answers that settle the question: the resolver was reached and said there is nothing to find. */
type DefinitiveCode = Extract<DnsFailureCode, "E_SOURCE_DNS_NXDOMAIN" | "E_SOURCE_DNS_EMPTY">;

/** In the order they are looked for: a name that does not exist says more than one without addresses. */
const DEFINITIVE_CODES: DefinitiveCode[] = ["E_SOURCE_DNS_NXDOMAIN", "E_SOURCE_DNS_EMPTY"];

const DEFINITIVE_WORDING: Record<DefinitiveCode, { says: string; answered: string }> = {
  E_SOURCE_DNS_NXDOMAIN: { says: "does not exist", answered: "answered NXDOMAIN" },
  E_SOURCE_DNS_EMPTY: { says: "has no A or AAAA records", answered: "answered with no A or AAAA records" },
};

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Too few resolvers returned addresses. The source fails with the code of the
 * failure itself (a resolver's timeout is the source's timeout). When
 * resolvers did answer, that the name does not exist (or has no address) is
 * the news, with the name and who said so; "not answered" is kept for
 * resolvers that really did not.
 */
export function quorumMissed(config: DnsSourceConfig, asked: number, answered: number, failures: NameFailure[]): SourceError {
  const definitiveCode = DEFINITIVE_CODES.find((code) => failures.some((f) => errorCode(f.error) === code));
  if (definitiveCode === undefined) {
    const first = failures[0]?.error;
    const reasons = failures.map((f) => messageOf(f.error)).join("; ");
    const code = first instanceof DnsError ? first.code : "E_SOURCE_DNS_FAILED";
    return new SourceError(code, config.name, `${answered} of ${asked} resolvers answered, quorum is ${config.quorum}: ${reasons}`, { cause: first });
  }
  const settled = failures.filter((f) => errorCode(f.error) === definitiveCode);
  const findings = settledFindings(settled, DEFINITIVE_WORDING[definitiveCode]);
  const tally = `${answered} of ${asked} resolvers returned addresses, quorum is ${config.quorum}`;
  const others = failures.filter((f) => !settled.includes(f)).map((f) => messageOf(f.error));
  const rest = [...others, ...(answered > 0 ? [tally] : [])].map((text) => `; ${text}`).join("");
  const fix = definitiveCode === "E_SOURCE_DNS_NXDOMAIN" ? " (check the source's names for a typo)" : "";
  return new SourceError(definitiveCode, config.name, `${findings.join("; ")}${fix}${rest}`, { cause: settled[0]?.error });
}

/** One line per missing name, with every resolver that said so. */
function settledFindings(settled: NameFailure[], wording: { says: string; answered: string }): string[] {
  const byName = new Map<string, { hostname: string; missing: string; resolvers: string[] }>();
  for (const f of settled) {
    const missing = missingName(f);
    const finding = byName.get(`${f.hostname} ${missing}`) ?? { hostname: f.hostname, missing, resolvers: [] };
    finding.resolvers.push(f.resolver);
    byName.set(`${f.hostname} ${missing}`, finding);
  }
  return [...byName.values()].map(({ hostname, missing, resolvers }) => {
    const subject = missing === hostname ? hostname : `${hostname} is an alias of ${missing}, which`;
    return `${subject} ${wording.says}: ${resolvers.join(", ")} ${wording.answered}`;
  });
}

/** The name the resolver found missing: the asked one, or the end of its CNAME chain. */
function missingName(failure: NameFailure): string {
  return failure.error instanceof DnsError ? failure.error.hostname : failure.hostname;
}
