import { resolverAt } from "../support/config.js";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dnsSource } from "../../src/sources/dns.js";
import type { SourceResult } from "../../src/sources/types.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { type RunningDohServer, startDohServer } from "../support/doh-server.js";
import { loopbackCertificate } from "../support/tls.js";

const NAME = "nat.travisci.net";
let a: RunningDnsServer;
let b: RunningDnsServer;
let c: RunningDnsServer;
let validating: RunningDnsServer;
let doh: RunningDohServer;
const trusting = new Agent({ connect: { ca: loopbackCertificate().cert } });

beforeAll(async () => {
  a = await startDnsServer({ zones: { [NAME]: { A: ["34.66.25.221", "35.188.1.99", "35.192.85.2"] }, "other.test": { A: ["104.154.120.187"] } } });
  b = await startDnsServer({ zones: { [NAME]: { A: ["34.66.25.221", "35.188.1.99"] }, "other.test": { A: ["104.154.120.187"] } } });
  c = await startDnsServer({ zones: { [NAME]: { A: ["34.66.25.221", "35.192.85.2", "6.6.6.6"] }, "other.test": { A: ["104.154.120.187"] } } });
  validating = await startDnsServer({ authenticated: true, zones: { [NAME]: { A: ["34.66.25.221"] } } });
  doh = await startDohServer({ address: a.address, port: a.port });
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop(), c.stop(), validating.stop(), doh.stop()]);
  await trusting.close();
});

function source(resolvers: string[], extra: { quorum?: number; requireDnssec?: boolean; names?: string[] } = {}) {
  return dnsSource(
    {
      name: "travis-dns",
      type: "dns",
      names: extra.names ?? [NAME],
      resolvers: resolvers.map(resolverAt),
      quorum: extra.quorum ?? 1,
      timeoutMs: 300,
      retries: 0,
      requireDnssec: extra.requireDnssec ?? false,
    },
    { dispatcher: trusting },
  );
}

const addresses = (r: SourceResult) => r.published.flatMap((g) => g.values).sort();

describe("DNS over HTTPS", () => {
  it("resolves through an RFC 8484 endpoint with the same answer checks", async () => {
    const result = await source([doh.url]).fetch();
    expect(addresses(result)).toEqual(["34.66.25.221", "35.188.1.99", "35.192.85.2"]);
    expect(result.published[0]?.provenance.resolvers).toEqual([doh.url]);
    expect(doh.requests).toBeGreaterThanOrEqual(2);
  });

  it.each([
    ["floods an endless answer", "flood" as const, "E_SOURCE_DNS_MALFORMED", "larger than a DNS message can be"],
    ["stops half-way through its answer", "stall" as const, "E_SOURCE_DNS_TIMEOUT", "no answer within 300 ms"],
  ])("fails the source, with its own code and in bounded time and memory, when the endpoint %s", async (_name, misbehave, code, text) => {
    doh.misbehave = misbehave;
    try {
      await expect(source([doh.url]).fetch()).rejects.toMatchObject({ code, message: expect.stringContaining(text) });
      expect(process.resourceUsage().maxRSS / 1024).toBeLessThan(1024);
    } finally {
      doh.misbehave = null;
    }
  });

  it("fails the source when the endpoint answers an HTTP error", async () => {
    doh.failWith = 500;
    try {
      await expect(source([doh.url]).fetch()).rejects.toMatchObject({ code: "E_SOURCE_DNS_DOH_HTTP", message: expect.stringContaining("HTTP 500") });
    } finally {
      doh.failWith = null;
    }
  });

  it("counts towards a quorum with UDP resolvers", async () => {
    const result = await source([doh.url, b.resolver], { quorum: 2 }).fetch();
    expect(addresses(result)).toEqual(["34.66.25.221", "35.188.1.99"]);
  });
});

describe("resolver quorum", () => {
  it("keeps addresses at least `quorum` resolvers return and reports the disagreement", async () => {
    const result = await source([a.resolver, b.resolver, c.resolver], { quorum: 2 }).fetch();
    expect(addresses(result)).toEqual(["34.66.25.221", "35.188.1.99", "35.192.85.2"]);
    const byAddress = Object.fromEntries((result.disagreements ?? []).map((d) => [d.address, d]));
    expect(byAddress["6.6.6.6"]).toEqual({
      address: "6.6.6.6",
      hostname: NAME,
      returnedBy: [c.resolver],
      missingFrom: [a.resolver, b.resolver],
      counted: false,
    });
    expect(byAddress["35.188.1.99"]).toMatchObject({ returnedBy: [a.resolver, b.resolver], missingFrom: [c.resolver], counted: true });
    expect(byAddress["34.66.25.221"]).toBeUndefined();
    const kept = result.published.find((g) => g.values.includes("35.192.85.2"));
    expect(kept?.provenance.resolvers).toEqual([a.resolver, c.resolver]);
  });

  it("a failed resolver counts as not agreeing", async () => {
    const dead = "127.0.0.1:1";
    const result = await source([a.resolver, b.resolver, dead], { quorum: 2 }).fetch();
    expect(addresses(result)).toEqual(["34.66.25.221", "35.188.1.99"]);
    expect(result.disagreements?.find((d) => d.address === "34.66.25.221")?.missingFrom).toEqual([dead]);
  });

  it("fails when fewer than `quorum` resolvers answer", async () => {
    await expect(source([a.resolver, "127.0.0.1:1", "127.0.0.1:2"], { quorum: 2 }).fetch()).rejects.toMatchObject({
      code: expect.stringMatching(/^E_SOURCE_DNS_/),
      message: expect.stringContaining("1 of 3 resolvers answered, quorum is 2"),
    });
  });

  it("fails when a name has no address that meets the quorum, rather than dropping the name", async () => {
    const x = await startDnsServer({ zones: { [NAME]: { A: ["34.66.25.221"] }, "other.test": { A: ["104.1.1.1"] } } });
    try {
      await expect(source([x.resolver, b.resolver], { quorum: 2, names: [NAME, "other.test"] }).fetch()).rejects.toMatchObject({
        code: "E_SOURCE_DNS_QUORUM",
        message: expect.stringContaining("other.test"),
      });
    } finally {
      await x.stop();
    }
  });
});

describe("requireDnssec", () => {
  it("accepts answers from a validating resolver (AD set)", async () => {
    expect(addresses(await source([validating.resolver], { requireDnssec: true }).fetch())).toEqual(["34.66.25.221"]);
  });

  it("refuses a resolver that does not set AD, saying so", async () => {
    await expect(source([b.resolver], { requireDnssec: true }).fetch()).rejects.toMatchObject({
      code: "E_SOURCE_DNS_INSECURE",
      message: expect.stringContaining("AD bit not set"),
    });
  });
});

describe("a resolver whose answer is cut short", () => {
  it.each([
    ["over UDP", "cut" as const, false],
    ["over TCP", "cut-tcp" as const, true],
  ])("fails the source with E_SOURCE_DNS_MALFORMED (%s), never with an address it made up", async (_name, behaviour, truncateUdp) => {
    const x = await startDnsServer({ truncateUdp, zones: { [NAME]: { A: ["34.66.25.221", "35.188.1.99"], behaviour } } });
    try {
      await expect(source([x.resolver]).fetch()).rejects.toMatchObject({ code: "E_SOURCE_DNS_MALFORMED", source: "travis-dns" });
    } finally {
      await x.stop();
    }
  });
});

describe("a name the resolvers say does not exist", () => {
  const TYPO = "nat.travisci.nett";
  const typoFailure = () =>
    source([a.resolver], { names: [TYPO] })
      .fetch()
      .catch((err: unknown) => err);

  it("says the name does not exist and which resolver said so, not that the resolver did not answer", async () => {
    const failure = await typoFailure();
    expect(failure).toMatchObject({
      code: "E_SOURCE_DNS_NXDOMAIN",
      source: "travis-dns",
      message: `source travis-dns: ${TYPO} does not exist: ${a.resolver} answered NXDOMAIN (check the source's names for a typo)`,
    });
  });

  it("has one code for one failure: the source's error and the resolver's error it wraps, which names the resolver and the name", async () => {
    const failure = await typoFailure();
    expect(failure).toMatchObject({
      code: "E_SOURCE_DNS_NXDOMAIN",
      source: "travis-dns",
      cause: { code: "E_SOURCE_DNS_NXDOMAIN", resolver: a.resolver, hostname: TYPO, question: expect.stringMatching(new RegExp(`^${TYPO}/(A|AAAA)$`)) },
    });
  });

  it("names the end of a CNAME chain that does not exist, not only the alias", async () => {
    const x = await startDnsServer({ zones: { [NAME]: { CNAME: "gone.example.test" } } });
    try {
      await expect(source([x.resolver]).fetch()).rejects.toMatchObject({
        code: "E_SOURCE_DNS_NXDOMAIN",
        message: `source travis-dns: ${NAME} is an alias of gone.example.test, which does not exist: ${x.resolver} answered NXDOMAIN (check the source's names for a typo)`,
        cause: { resolver: x.resolver, hostname: "gone.example.test" },
      });
    } finally {
      await x.stop();
    }
  });

  it("names every resolver that said so, and only the name that is missing", async () => {
    await expect(source([a.resolver, b.resolver], { names: [NAME, TYPO], quorum: 2 }).fetch()).rejects.toMatchObject({
      code: "E_SOURCE_DNS_NXDOMAIN",
      message: `source travis-dns: ${TYPO} does not exist: ${a.resolver}, ${b.resolver} answered NXDOMAIN (check the source's names for a typo)`,
    });
  });

  it("keeps what the other resolvers did: one silent, one that returned addresses, the quorum missed", async () => {
    const dead = "127.0.0.1:1";
    const x = await startDnsServer({ zones: {} });
    try {
      const failure = await source([x.resolver, dead, a.resolver], { quorum: 2 })
        .fetch()
        .catch((err: unknown) => err);
      expect(failure).toMatchObject({ code: "E_SOURCE_DNS_NXDOMAIN" });
      const { message } = failure as Error;
      expect(message).toMatch(new RegExp(`^source travis-dns: ${NAME.replace(/\./g, "\\.")} does not exist: ${x.resolver} answered NXDOMAIN`));
      expect(message).toContain(`@${dead}:`);
      expect(message).toContain("; 1 of 3 resolvers returned addresses, quorum is 2");
      expect(message).not.toContain("resolvers answered");
    } finally {
      await x.stop();
    }
  });

  it("a name that exists without any A or AAAA record says so, with E_SOURCE_DNS_EMPTY", async () => {
    const x = await startDnsServer({ zones: { [NAME]: { behaviour: "empty" } } });
    try {
      await expect(source([x.resolver]).fetch()).rejects.toMatchObject({
        code: "E_SOURCE_DNS_EMPTY",
        message: `source travis-dns: ${NAME} has no A or AAAA records: ${x.resolver} answered with no A or AAAA records`,
      });
    } finally {
      await x.stop();
    }
  });
});
