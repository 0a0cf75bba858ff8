import fc from "fast-check";
import IPCIDR from "ip-cidr";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { decodeMessage } from "../../src/dns/client.js";
import { AllowlistError } from "../../src/errors.js";
import { parseEntries } from "../../src/haproxy/entries-reader.js";
import { assertWritableKey, parseListing, parseResponse } from "../../src/haproxy/protocol.js";
import type { LiveEntry } from "../../src/model/list.js";
import { canonicalise, parseCidr } from "../../src/model/cidr.js";
import { computePlan } from "../../src/plan/plan.js";

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));
const ipv4Cidr = fc.tuple(ipv4, fc.integer({ min: 16, max: 32 })).map(([a, p]) => canonicalise(`${a}/${p}`, { lenient: true }) as string);
const ipv6 = fc.ipV6();

/** Everything a parser may do with bad input: return, or throw one of our typed errors. */
function onlyTypedErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AllowlistError);
  }
}

describe("canonicalisation", () => {
  it("is idempotent", () => {
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6, ipv4Cidr), (text) => {
        const once = canonicalise(text, { lenient: true });
        if (once !== undefined) expect(canonicalise(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it("gives equal entries for equivalent spellings", () => {
    fc.assert(
      fc.property(ipv4, (address) => {
        expect(canonicalise(address)).toBe(canonicalise(`${address}/32`));
        expect(canonicalise(`${address}/32`)).toBe(canonicalise(`${address}/255.255.255.255`, { lenient: true }));
      }),
    );
    fc.assert(
      fc.property(ipv6, (address) => {
        const ours = canonicalise(address);
        if (ours === undefined) return;
        // ip-cidr takes any text with a dot for IPv4; the WHATWG URL parser reads dotted tails and compresses as RFC 5952 does.
        const oracle = new URL(`http://[${address}]/`).hostname.slice(1, -1);
        const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(oracle);
        const high = Number.parseInt(mapped?.[1] ?? "0", 16);
        const low = Number.parseInt(mapped?.[2] ?? "0", 16);
        expect(ours).toBe(mapped ? `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}/32` : `${oracle}/128`);
        expect(canonicalise(address.toUpperCase())).toBe(ours);
      }),
      { numRuns: 1000 },
    );
  });

  it("agrees with ip-cidr on what an IPv4 range contains", () => {
    fc.assert(
      fc.property(ipv4Cidr, (text) => {
        const ours = parseCidr(text);
        expect(ours.ok).toBe(true);
        const oracle = new IPCIDR(text);
        expect(text.startsWith(`${String(oracle.start())}/`)).toBe(true);
      }),
    );
  });

  it("never throws, whatever the text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => void parseCidr(text)),
      { numRuns: 3000 },
    );
  });
});

describe("planning", () => {
  const owned = fc.uniqueArray(ipv4Cidr, { maxLength: 40 });
  const foreign = fc.array(fc.tuple(ipv4Cidr, fc.constantFrom("office", "vpn team", "TRAVIS")), { maxLength: 10 });

  it("applying plan(live, desired) to live gives the desired set plus every foreign entry", () => {
    fc.assert(
      fc.property(owned, owned, foreign, (liveOwned, desired, foreignEntries) => {
        const live: LiveEntry[] = [
          ...liveOwned.map((key, i) => ({ ref: `0x${i}`, key, value: "travis" })),
          ...foreignEntries.map(([key, value], i) => ({ ref: `0xf${i}`, key, value })),
        ];
        const plan = computePlan(live, desired, { kind: "map", value: "travis" });
        const after = new Set(liveOwned);
        plan.remove.forEach((e) => after.delete(e));
        plan.add.forEach((e) => after.add(e));
        expect([...after].sort()).toEqual([...desired].sort());
        expect(plan.content.filter((e) => e.value !== "travis")).toEqual(foreignEntries.map(([key, value]) => ({ key, value })));
        expect(
          plan.content
            .filter((e) => e.value === "travis")
            .map((e) => e.key)
            .sort(),
        ).toEqual([...desired].sort());
      }),
      { numRuns: 500 },
    );
  });
});

describe("parsers on random input", () => {
  it("show map, show acl, the list listing and replies: a result or a typed error", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        onlyTypedErrors(() => parseEntries("map", text));
        onlyTypedErrors(() => parseEntries("acl", text));
        onlyTypedErrors(() => parseListing(text));
        onlyTypedErrors(() => parseResponse(text));
      }),
      { numRuns: 3000 },
    );
  });

  it("the config parser: issues, never a crash", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 400 }),
          fc.json().map((j) => j),
          fc.jsonValue().map((v) => JSON.stringify({ sources: v, haproxy: v })),
        ),
        (text) => {
          const parsed = parseConfig(text, {});
          expect(parsed.config !== undefined || parsed.issues.length > 0).toBe(true);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("DNS decoding of random bytes: a message or nothing", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => void decodeMessage(Buffer.from(bytes))),
      { numRuns: 5000 },
    );
  });
});

describe("the socket's last line of defence", () => {
  it("the fast dotted-quad check accepts exactly what the full parser accepts", () => {
    const addressish = fc.stringMatching(/^[0-9./]{1,20}$/);
    fc.assert(
      fc.property(fc.oneof(addressish, ipv4Cidr, ipv4), (key) => {
        let accepted = true;
        try {
          assertWritableKey(key);
        } catch {
          accepted = false;
        }
        expect(accepted).toBe(/^[0-9A-Fa-f.:/]+$/.test(key) && parseCidr(key, { lenient: true }).ok);
      }),
      { numRuns: 5000 },
    );
  });
});
