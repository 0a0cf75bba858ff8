import { afterEach, describe, expect, it } from "vitest";
import { HaproxyError } from "../../src/errors.js";
import { HaproxyInstance } from "../../src/haproxy/runtime.js";
import { deniedClientsRecipe, haproxyBinaries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

// The clock the reader is handed: nothing below depends on the date.
const NOW = new Date("2026-11-26T12:00:00.000Z");
const DAY_MS = 86_400_000;

const running: RunningHaproxy[] = [];
const open: HaproxyInstance[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()));
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

async function instanceOf(h: RunningHaproxy): Promise<HaproxyInstance> {
  const instance = await HaproxyInstance.connect(h.unixTarget, { timeoutMs: 10_000 });
  open.push(instance);
  return instance;
}

async function deny(h: RunningHaproxy, sources: string[]): Promise<void> {
  for (const source of sources) expect(await h.statusFrom(source)).toBe(403);
}

describe.each(haproxyBinaries())("reading the denied clients' table from HAProxy $version", ({ bin }) => {
  it("streams every client over the instance's connection, and stops keeping them at the limit, marked truncated", async () => {
    const h = await startHaproxy({ bin, kind: "map", entries: ["127.0.0.7 travis"], ...deniedClientsRecipe() });
    running.push(h);
    await deny(h, ["127.0.0.5", "127.0.0.5", "127.0.0.6", "127.0.0.8"]);
    const instance = await instanceOf(h);

    const whole = await instance.readTable("st_denied", { now: NOW, expireMs: DAY_MS });
    expect(whole).toMatchObject({ entries: 3, truncated: false, skipped: { notAnAddress: 0, malformed: 0 } });
    expect(whole.clients.map(({ address, requests }) => ({ address, requests })).sort((a, b) => a.address.localeCompare(b.address))).toEqual([
      { address: "127.0.0.5", requests: 2 },
      { address: "127.0.0.6", requests: 1 },
      { address: "127.0.0.8", requests: 1 },
    ]);

    const capped = await instance.readTable("st_denied", { now: NOW, expireMs: DAY_MS, limit: 2 });
    expect(capped).toMatchObject({ entries: 3, truncated: true });
    expect(capped.clients).toHaveLength(2);
    // The connection is still in step: the next command gets its own reply.
    expect((await instance.readTable("st_denied", { now: NOW, expireMs: DAY_MS })).entries).toBe(3);
  });

  it("reads the mode tcp recipe: rejected connections counted as conn_cnt", async () => {
    const h = await startHaproxy({
      bin,
      kind: "map",
      entries: ["127.0.0.7 travis"],
      rule: (listFile) => [
        `acl travis_runner src,map_ip(${listFile}) -m found`,
        "tcp-request connection track-sc0 src table st_denied_tcp unless travis_runner",
        "tcp-request connection reject unless travis_runner",
      ],
      sections: ["backend st_denied_tcp", "  stick-table type ipv6 size 100k expire 24h store conn_cnt"],
    });
    running.push(h);
    for (let i = 0; i < 2; i++) await expect(h.statusFrom("127.0.0.5")).rejects.toThrow();
    expect(await h.statusFrom("127.0.0.7")).toBe(200);
    const instance = await instanceOf(h);
    const read = await instance.readTable("st_denied_tcp", { now: NOW, expireMs: DAY_MS });
    expect(read.clients.map(({ address, requests }) => ({ address, requests }))).toEqual([{ address: "127.0.0.5", requests: 2 }]);
  });

  it("names the instance and the tables HAProxy has when the table is unknown (E_HAPROXY_TABLE_UNKNOWN)", async () => {
    const h = await startHaproxy({ bin, kind: "map", ...deniedClientsRecipe("st_other") });
    running.push(h);
    const instance = await instanceOf(h);
    const failure = await instance.readTable("st_denied", { now: NOW, expireMs: DAY_MS }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(HaproxyError);
    expect(failure).toMatchObject({
      code: "E_HAPROXY_TABLE_UNKNOWN",
      target: h.unixTarget,
      message: `${h.unixTarget}: no stick table st_denied: it has st_other (type ipv6); set haproxy.denials.table to one of them or add the table`,
    });
  });
});
