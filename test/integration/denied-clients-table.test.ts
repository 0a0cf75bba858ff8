import { afterEach, describe, expect, it } from "vitest";
import { parseTableList } from "../../src/haproxy/stick-table.js";
import { readShowTable } from "../../src/haproxy/stick-table-reader.js";
import { haproxyBinaries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

// The clock the parser is handed: the tables' real `exp` values are read against it, so nothing below depends on the date.
const NOW = new Date("2026-11-26T12:00:00.000Z");
const DAY_MS = 86_400_000;
/** Far more than the requests below take, even on a busy machine. */
const SLACK_MS = 120_000;

const running: RunningHaproxy[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

/** The recipe of docs/haproxy.md: denied clients tracked in an ipv6 table, and an `ip` table as users sometimes write it. */
async function withDeniedClientsTable(bin: string): Promise<RunningHaproxy> {
  const h = await startHaproxy({
    bin,
    kind: "map",
    entries: ["127.0.0.7 travis"],
    rule: (listFile) => [
      `acl travis_runner src,map_ip(${listFile}) -m found`,
      "http-request track-sc0 src table st_denied unless travis_runner",
      "http-request track-sc1 src table st_ip unless travis_runner",
      "http-request deny deny_status 403 unless travis_runner",
    ],
    sections: [
      "backend st_denied",
      "  stick-table type ipv6 size 100k expire 24h store http_req_cnt,http_req_rate(1h)",
      "backend st_ip",
      "  stick-table type ip size 1k expire 1h store conn_cnt",
    ],
  });
  running.push(h);
  return h;
}

describe.each(haproxyBinaries())("the denied clients' stick table on HAProxy $version", ({ bin }) => {
  it("lists each denied client once, as its IPv4 address, with its requests and when it was last seen", async () => {
    const h = await withDeniedClientsTable(bin);
    const statuses = [];
    for (const source of ["127.0.0.5", "127.0.0.5", "127.0.0.5", "127.0.0.6", "127.0.0.7"]) statuses.push(await h.statusFrom(source));
    expect(statuses).toEqual([403, 403, 403, 403, 200]);

    const reply = readShowTable(await h.command("show table st_denied"), { now: NOW, expireMs: DAY_MS });

    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(reply.read).toMatchObject({
      header: { table: "st_denied", type: "ipv6", used: 2 },
      entries: 2,
      skipped: { notAnAddress: 0, malformed: 0 },
      truncated: false,
      expOverrun: false,
    });
    const clients = [...reply.read.clients].sort((a, b) => a.address.localeCompare(b.address));
    expect(clients.map(({ address, requests }) => ({ address, requests }))).toEqual([
      { address: "127.0.0.5", requests: 3 },
      { address: "127.0.0.6", requests: 1 },
    ]);
    for (const { lastSeenMs } of clients) {
      expect(lastSeenMs).toBeLessThanOrEqual(NOW.getTime());
      expect(lastSeenMs).toBeGreaterThan(NOW.getTime() - SLACK_MS);
    }
  });

  it("names the tables HAProxy has, and tells an unknown table and a type ip table apart", async () => {
    const h = await withDeniedClientsTable(bin);
    expect(await h.statusFrom("127.0.0.5")).toBe(403);
    const clock = { now: NOW, expireMs: DAY_MS };

    expect(parseTableList(await h.command("show table")).map(({ table, type }) => ({ table, type }))).toEqual(
      expect.arrayContaining([
        { table: "st_denied", type: "ipv6" },
        { table: "st_ip", type: "ip" },
      ]),
    );
    expect(readShowTable(await h.command("show table st_missing"), clock)).toEqual({ ok: false, problem: { kind: "unknown-table" } });
    expect(readShowTable(await h.command("show table st_ip"), clock)).toEqual({ ok: false, problem: { kind: "wrong-type", type: "ip" } });
  });
});
