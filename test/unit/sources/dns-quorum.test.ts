import { describe, expect, it } from "vitest";
import type { DnsSourceConfig } from "../../../src/config/schema.js";
import { DnsError } from "../../../src/errors.js";
import { quorumMissed, type ResolverOutcome, tallySightings } from "../../../src/sources/dns-quorum.js";

const NAME = "nat.travisci.net";

function config(quorum: number): DnsSourceConfig {
  return { name: "travis-dns", type: "dns", names: [NAME], resolvers: undefined, quorum, timeoutMs: 300, retries: 0, requireDnssec: false };
}

function answered(resolver: string, addresses: string[], ttl = 60): ResolverOutcome {
  return { resolver, sighted: addresses.map((address) => ({ hostname: NAME, address, ttl })), failures: [] };
}

describe("tallySightings", () => {
  it("counts an address returned by quorum resolvers, with the lowest TTL, and reports every resolver that did not return it", () => {
    const { entries, disagreements } = tallySightings(
      config(2),
      ["r1", "r2", "r3"],
      [answered("r1", ["34.66.25.221", "6.6.6.6"], 60), answered("r2", ["34.66.25.221"], 30), answered("r3", ["34.66.25.221"], 90)],
    );
    expect(entries).toEqual([{ value: "34.66.25.221", provenance: { source: "travis-dns", hostname: NAME, resolvers: ["r1", "r2", "r3"], ttl: 30 } }]);
    expect(disagreements).toEqual([{ address: "6.6.6.6", hostname: NAME, returnedBy: ["r1"], missingFrom: ["r2", "r3"], counted: false }]);
  });

  it("lists a resolver that failed among those an address is missing from", () => {
    const { entries, disagreements } = tallySightings(config(1), ["r1", "dead"], [answered("r1", ["34.66.25.221"])]);
    expect(entries.map((e) => e.value)).toEqual(["34.66.25.221"]);
    expect(disagreements).toEqual([{ address: "34.66.25.221", hostname: NAME, returnedBy: ["r1"], missingFrom: ["dead"], counted: true }]);
  });
});

describe("quorumMissed", () => {
  it("fails the source with the resolver's own code, keeping the resolver's error as its cause", () => {
    const timeout = new DnsError("E_SOURCE_DNS_TIMEOUT", "r1", { hostname: NAME, type: "A" }, "no answer within 300 ms (1 attempts)");
    const error = quorumMissed(config(1), 1, 0, [{ resolver: "r1", hostname: NAME, error: timeout }]);
    expect(error).toMatchObject({
      code: "E_SOURCE_DNS_TIMEOUT",
      source: "travis-dns",
      message: `source travis-dns: 0 of 1 resolvers answered, quorum is 1: ${NAME}/A @r1: no answer within 300 ms (1 attempts)`,
    });
    expect(error.cause).toBe(timeout);
  });

  it("fails with E_SOURCE_DNS_FAILED when the failure is not a resolver's", () => {
    const error = quorumMissed(config(1), 1, 0, [{ resolver: "r1", hostname: NAME, error: new Error("the name cannot be encoded") }]);
    expect(error).toMatchObject({
      code: "E_SOURCE_DNS_FAILED",
      message: "source travis-dns: 0 of 1 resolvers answered, quorum is 1: the name cannot be encoded",
    });
  });

  it("prefers a name that does not exist over one without addresses, and names the end of the CNAME chain", () => {
    const failures = [
      { resolver: "r1", hostname: NAME, error: new DnsError("E_SOURCE_DNS_EMPTY", "r1", { hostname: NAME }, "no A or AAAA records (empty answer)") },
      {
        resolver: "r2",
        hostname: NAME,
        error: new DnsError("E_SOURCE_DNS_NXDOMAIN", "r2", { hostname: "gone.test", type: "A" }, "name does not exist (NXDOMAIN)"),
      },
    ];
    expect(quorumMissed(config(2), 2, 0, failures)).toMatchObject({
      code: "E_SOURCE_DNS_NXDOMAIN",
      message: `source travis-dns: ${NAME} is an alias of gone.test, which does not exist: r2 answered NXDOMAIN (check the source's names for a typo); ${NAME} @r1: no A or AAAA records (empty answer)`,
    });
  });
});
