import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeSession } from "../../src/haproxy/session.js";
import { type Cidr, contains, ipv4Admitted, parseCidr } from "../../src/model/cidr.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

/**
 * Our canonical form decides what an entry lets in; HAProxy's matcher is
 * what actually lets clients in. An IPv6 entry that HAProxy matches IPv4
 * clients against must be judged by the IPv4 range it admits, so the two
 * have to agree on every spelling of it.
 */

const U32 = 0x1_0000_0000;
const u32 = fc.integer({ min: 0, max: U32 - 1 });

function dotted(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

function hexGroups(value: number, pad: boolean): string {
  const text = (group: number) => (pad ? group.toString(16).padStart(4, "0") : group.toString(16));
  return `${text(value >>> 16)}:${text(value & 0xffff)}`;
}

function ipv4Network(value: number, bits: number): number {
  return bits === 0 ? 0 : (value & (0xffffffff << (32 - bits))) >>> 0;
}

interface Case {
  original: string;
  /** Worked out here independently of parseCidr, for the mapped spellings only. */
  canonical?: string;
}

const SPELLINGS = {
  dotted: (a: number) => `::ffff:${dotted(a)}`,
  hex: (a: number) => `::ffff:${hexGroups(a, false)}`,
  full: (a: number) => `0:0:0:0:0:ffff:${hexGroups(a, false)}`,
  padded: (a: number) => `0000:0000:0000:0000:0000:ffff:${hexGroups(a, true)}`,
  fullDotted: (a: number) => `0:0:0:0:0:ffff:${dotted(a)}`,
  compressedZeros: (a: number) => `0::ffff:${hexGroups(a, false)}`,
} as const;

/** Host bits are left in on purpose: HAProxy clears them, and so must the lenient parser. */
const mappedRange: fc.Arbitrary<Case> = fc
  .record({
    address: u32,
    bits: fc.integer({ min: 0, max: 32 }),
    spelling: fc.constantFrom(...(Object.keys(SPELLINGS) as Array<keyof typeof SPELLINGS>)),
    upper: fc.boolean(),
    bare: fc.boolean(),
  })
  .map(({ address, bits, spelling, upper, bare }) => {
    const text = SPELLINGS[spelling](address);
    const withPrefix = bits === 32 && bare ? text : `${text}/${96 + bits}`;
    return { original: upper ? withPrefix.toUpperCase() : withPrefix, canonical: `${dotted(ipv4Network(address, bits))}/${bits}` };
  });

/** Wider than the mapped space: they admit every IPv4 client or none, depending on whether they cover it. */
const wideRange: fc.Arbitrary<Case> = fc
  .oneof(
    fc.constantFrom("::/0", "::/32", "::/80", "::/81", "::/95", "::ffff:0:0/96", "::FFFF:0.0.0.0/96", "::fffe:0:0/95", "::ffff:0:0/95", "::/64"),
    fc.integer({ min: 0, max: 96 }).map((p) => `::/${p}`),
    fc.integer({ min: 0, max: 96 }).map((p) => `::ffff:0:0/${p}`),
    fc.tuple(u32, fc.integer({ min: 0, max: 96 })).map(([a, p]) => `::ffff:${dotted(a)}/${p}`),
  )
  .map((original) => ({ original }));

/** Near misses next to the mapped space, and IPv6 at large. */
const otherRange: fc.Arbitrary<Case> = fc
  .oneof(
    fc.constantFrom("2001:db8::/32", "::/96", "::1/128", "64:ff9b::/96", "::fffe:0:0/96", "::1:ffff:0:0/96", "2002:102:304::/48", "::ffff:0:0:0/96"),
    u32.map((a) => `::${dotted(a)}`),
    u32.map((a) => `64:ff9b::${dotted(a)}`),
    u32.map((a) => `::fffe:${hexGroups(a, false)}`),
    fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`),
  )
  .map((original) => ({ original }));

const entry = fc.oneof({ arbitrary: mappedRange, weight: 4 }, { arbitrary: wideRange, weight: 1 }, { arbitrary: otherRange, weight: 1 });

/** Clients at the edges of the admitted range and on either side of it, plus some anywhere. */
function clientsFor(admitted: Cidr | undefined, randoms: number[], inside: number): number[] {
  const clients = [...randoms, 0, U32 - 1];
  if (admitted) {
    const first = Number(admitted.network);
    const last = first + 2 ** (32 - admitted.prefix) - 1;
    clients.push(first, last, first + (inside % (last - first + 1)));
    if (first > 0) clients.push(first - 1);
    if (last < U32 - 1) clients.push(last + 1);
  }
  return clients;
}

function admits(admitted: Cidr | undefined, client: number): boolean {
  const parsed = parseCidr(dotted(client));
  if (!parsed.ok) throw new Error(`bad client ${client}`);
  return admitted !== undefined && contains(admitted, parsed.cidr);
}

function found(reply: { text: string; isError: boolean }): boolean {
  expect(reply.isError).toBe(false);
  const match = /found=(yes|no)/.exec(reply.text);
  if (!match) throw new Error(`unexpected get map reply: ${reply.text}`);
  return match[1] === "yes";
}

describe("IPv4-mapped IPv6 against HAProxy's own matcher", () => {
  let h: RunningHaproxy;
  let session: RuntimeSession;

  beforeAll(async () => {
    h = await startHaproxy({ kind: "map", entries: [] });
    session = await RuntimeSession.open(h.unixTarget, { timeoutMs: 10_000 });
  });

  afterAll(async () => {
    await session?.close();
    await h?.stop();
  });

  async function load(key: string): Promise<void> {
    const [cleared, added] = await session.sendAll([`clear map ${h.listFile}`, `add map ${h.listFile} ${key} x`]);
    expect(cleared?.isError, cleared?.text).toBe(false);
    expect(added?.isError, `add map ${key}: ${added?.text}`).toBe(false);
  }

  async function haproxyAdmits(clients: number[]): Promise<boolean[]> {
    const replies = await session.sendAll(clients.map((c) => `get map ${h.listFile} ${dotted(c)}`));
    return replies.map(found);
  }

  it("an IPv4 client is found exactly when the canonical form admits it", { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(entry, fc.array(u32, { minLength: 2, maxLength: 4 }), u32, async ({ original, canonical }, randoms, inside) => {
        const parsed = parseCidr(original, { lenient: true });
        expect(parsed.ok, original).toBe(true);
        if (!parsed.ok) return;
        if (canonical !== undefined) expect(parsed.cidr).toMatchObject({ family: 4, text: canonical });
        const admitted = ipv4Admitted(parsed.cidr);
        await load(original);
        const clients = clientsFor(admitted, randoms, inside);
        const actual = await haproxyAdmits(clients);
        const expected = clients.map((c) => admits(admitted, c));
        expect(clients.map((c, i) => `${dotted(c)} ${actual[i]}`)).toEqual(clients.map((c, i) => `${dotted(c)} ${expected[i]}`));
      }),
      { numRuns: 60 },
    );
  });

  it("::/32 is found for any IPv4 client, as 0.0.0.0/0 would be", async () => {
    await load("::/32");
    const clients = ["0.0.0.0", "1.2.3.4", "34.66.25.221", "127.0.0.9", "255.255.255.255"].map((t) =>
      Number((parseCidr(t) as { ok: true; cidr: Cidr }).cidr.network),
    );
    expect(await haproxyAdmits(clients)).toEqual(clients.map(() => true));
    expect(ipv4Admitted((parseCidr("::/32") as { ok: true; cidr: Cidr }).cidr)?.text).toBe("0.0.0.0/0");
  });
});
