import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as packet from "dns-packet";
import { createSocket } from "node:dgram";
import { Agent } from "undici";
import { resolveRecords, resolveSrv } from "../../src/dns/client.js";
import { DnsError } from "../../src/errors.js";
import { parseResolver, type ResolverAddress } from "../../src/util/resolver.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { startDnsmasq, type RunningDnsmasq } from "../support/dnsmasq.js";
import { type RunningDohServer, startDohServer } from "../support/doh-server.js";
import { loopbackCertificate } from "../support/tls.js";
import { travisAddresses } from "../support/fixtures.js";

const OPTIONS = { timeoutMs: 300, retries: 1, requireDnssec: false };
const TRAVIS = travisAddresses();

function at(server: { resolver: string }): ResolverAddress {
  return parseResolver(server.resolver) as ResolverAddress;
}

describe("DNS client against a scripted server", () => {
  let server: RunningDnsServer;

  beforeAll(async () => {
    server = await startDnsServer({
      zones: {
        "nat.travisci.net": { A: TRAVIS, ttl: 300 },
        "alias.example.test": { CNAME: "nat.travisci.net" },
        "hop1.example.test": { CNAME: "hop2.example.test" },
        "hop2.example.test": { CNAME: "hop3.example.test" },
        "hop3.example.test": { A: ["34.66.25.221"] },
        "loop.example.test": { CNAME: "loop.example.test" },
        "servfail.example.test": { behaviour: "servfail" },
        "refused.example.test": { behaviour: "refused" },
        "silent.example.test": { behaviour: "timeout" },
        "spoofed.example.test": { A: ["34.66.25.221"], behaviour: "spoof" },
        "v4only.example.test": { A: ["34.66.25.221"] },
      },
    });
  });
  afterAll(() => server.stop());

  it("gets the whole Travis set in one EDNS0 answer, with TTLs", async () => {
    const answer = await resolveRecords(at(server), "nat.travisci.net", "A", OPTIONS);
    expect(answer.records.map((r) => r.address).sort()).toEqual([...TRAVIS].sort());
    expect(answer.records.every((r) => r.ttl === 300)).toBe(true);
    expect(answer.transport).toBe("udp");
    expect(server.queries.at(-1)).toMatchObject({ name: "nat.travisci.net", edns: true, transport: "udp" });
  });

  it("returns an empty list for a name without AAAA records", async () => {
    const answer = await resolveRecords(at(server), "v4only.example.test", "AAAA", OPTIONS);
    expect(answer.records).toEqual([]);
  });

  it("follows CNAME chains inside an answer and across queries", async () => {
    const alias = await resolveRecords(at(server), "alias.example.test", "A", OPTIONS);
    expect(alias.chain).toEqual(["alias.example.test", "nat.travisci.net"]);
    expect(alias.records).toHaveLength(TRAVIS.length);
    const hops = await resolveRecords(at(server), "hop1.example.test", "A", OPTIONS);
    expect(hops.chain).toEqual(["hop1.example.test", "hop2.example.test", "hop3.example.test"]);
    expect(hops.records.map((r) => r.address)).toEqual(["34.66.25.221"]);
  });

  it.each([
    ["servfail.example.test", "E_SOURCE_DNS_SERVFAIL"],
    ["refused.example.test", "E_SOURCE_DNS_RCODE"],
    ["nothere.example.test", "E_SOURCE_DNS_NXDOMAIN"],
    ["silent.example.test", "E_SOURCE_DNS_TIMEOUT"],
    ["loop.example.test", "E_SOURCE_DNS_CNAME_LOOP"],
  ])("%s fails with %s", async (name, code) => {
    await expect(resolveRecords(at(server), name, "A", OPTIONS)).rejects.toMatchObject({ code, resolver: server.resolver });
  });

  it("retries a silent server the configured number of times", async () => {
    const before = server.queries.filter((q) => q.name === "silent.example.test").length;
    await expect(resolveRecords(at(server), "silent.example.test", "A", { ...OPTIONS, retries: 2 })).rejects.toMatchObject({ code: "E_SOURCE_DNS_TIMEOUT" });
    expect(server.queries.filter((q) => q.name === "silent.example.test").length - before).toBe(3);
  });

  it("ignores answers with a wrong ID, a wrong question or from another port", async () => {
    const answer = await resolveRecords(at(server), "spoofed.example.test", "A", OPTIONS);
    expect(answer.records.map((r) => r.address)).toEqual(["34.66.25.221"]);
  });

  it("uses a random query ID each time", async () => {
    const ids = new Set<number>();
    const sniffer = createSocket("udp4");
    await new Promise<void>((r) => sniffer.bind(0, "127.0.0.1", () => r()));
    sniffer.on("message", (data: Buffer) => ids.add(packet.decode(data).id ?? -1));
    const fake = { kind: "udp" as const, host: "127.0.0.1", port: sniffer.address().port, label: "sniffer" };
    await Promise.allSettled(Array.from({ length: 8 }, () => resolveRecords(fake, "x.test", "A", { ...OPTIONS, timeoutMs: 100, retries: 0 })));
    sniffer.close();
    expect(ids.size).toBeGreaterThan(4);
  });

  it("requireDnssec refuses answers without the AD bit", async () => {
    await expect(resolveRecords(at(server), "v4only.example.test", "A", { ...OPTIONS, requireDnssec: true })).rejects.toMatchObject({
      code: "E_SOURCE_DNS_INSECURE",
      message: expect.stringContaining("AD bit"),
    });
    expect(server.queries.at(-1)?.adRequested).toBe(true);
  });
});

describe("DNS client: truncation and TCP fallback", () => {
  let server: RunningDnsServer;
  beforeAll(async () => {
    server = await startDnsServer({ truncateUdp: true, authenticated: true, zones: { "nat.travisci.net": { A: TRAVIS } } });
  });
  afterAll(() => server.stop());

  it("retries over TCP when the UDP answer is truncated and gets every record", async () => {
    const answer = await resolveRecords(at(server), "nat.travisci.net", "A", { ...OPTIONS, requireDnssec: true });
    expect(answer.transport).toBe("tcp");
    expect(answer.authenticated).toBe(true);
    expect(answer.records).toHaveLength(TRAVIS.length);
    expect(server.queries.slice(-2).map((q) => q.transport)).toEqual(["udp", "tcp"]);
  });
});

describe("DNS client against dnsmasq", () => {
  let dnsmasq: RunningDnsmasq;
  beforeAll(async () => {
    dnsmasq = await startDnsmasq({ "nat.travisci.net": TRAVIS });
  });
  afterAll(() => dnsmasq.stop());

  it("receives all the published addresses (over 512 bytes) from a real server", async () => {
    const answer = await resolveRecords(at(dnsmasq), "nat.travisci.net", "A", OPTIONS);
    expect(answer.records.map((r) => r.address).sort()).toEqual([...TRAVIS].sort());
  });

  it("reports a name the server does not know", async () => {
    await expect(resolveRecords(at(dnsmasq), "nat.gce-us-east1.travisci.net", "A", OPTIONS)).rejects.toMatchObject({
      code: expect.stringMatching(/^E_SOURCE_DNS_(RCODE|NXDOMAIN)$/),
    });
  });
});

describe("DNS client: an answer cut short is E_SOURCE_DNS_MALFORMED, never a made-up address", () => {
  // dns-packet decodes a cut-off A record as "34.66.25.undefined" and a cut-off AAAA as "::" rather than failing.
  const zones = (behaviour: "cut" | "cut-tcp") => ({
    "cut.example.test": { A: ["34.66.25.221"], behaviour },
    "cut6.example.test": { AAAA: ["2600:1f18:24e6:b900::1"], behaviour },
    "srv.example.test": { SRV: [{ target: "haproxy-0.example.test", port: 9999 }], behaviour },
  });
  let cut: RunningDnsServer;
  let cutOverTcp: RunningDnsServer;
  let doh: RunningDohServer;
  const trusting = new Agent({ connect: { ca: loopbackCertificate().cert } });
  beforeAll(async () => {
    cut = await startDnsServer({ zones: zones("cut") });
    cutOverTcp = await startDnsServer({ truncateUdp: true, zones: zones("cut-tcp") });
    doh = await startDohServer({ address: cut.address, port: cut.port });
  });
  afterAll(async () => {
    await Promise.all([cut.stop(), cutOverTcp.stop(), doh.stop()]);
    await trusting.close();
  });

  it.each([
    ["an A record over UDP", () => at(cut), "cut.example.test", "A", "no answer that decodes within 300 ms (2 attempts)"],
    ["an AAAA record over UDP", () => at(cut), "cut6.example.test", "AAAA", "no answer that decodes"],
    ["an A record over TCP", () => at(cutOverTcp), "cut.example.test", "A", "malformed answer over TCP"],
    ["an AAAA record over TCP", () => at(cutOverTcp), "cut6.example.test", "AAAA", "malformed answer over TCP"],
    ["an A record over DNS over HTTPS", () => parseResolver(doh.url) as ResolverAddress, "cut.example.test", "A", "malformed DNS over HTTPS answer"],
  ] as const)("%s", async (_name, resolver, name, type, text) => {
    const error = await resolveRecords(resolver(), name, type, { ...OPTIONS, dispatcher: trusting }).then(
      (answer) => answer,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(DnsError);
    expect(error).toMatchObject({ code: "E_SOURCE_DNS_MALFORMED", question: `${name}/${type}`, message: expect.stringContaining(text) });
  });

  it.each([
    ["UDP", () => at(cut), "no answer that decodes"],
    ["TCP", () => at(cutOverTcp), "malformed answer over TCP"],
  ])("an SRV record over %s", async (_name, resolver, text) => {
    await expect(resolveSrv(resolver(), "srv.example.test", OPTIONS)).rejects.toMatchObject({
      code: "E_SOURCE_DNS_MALFORMED",
      message: expect.stringContaining(text),
    });
  });
});
