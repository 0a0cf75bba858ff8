import { describe, expect, it } from "vitest";
import { parseTableEntry, parseTableHeader, parseTableList } from "../../../src/haproxy/stick-table.js";
import { readShowTable, StickTableReader, type TableProblem } from "../../../src/haproxy/stick-table-reader.js";
import { tableProblemError } from "../../../src/haproxy/table-problem.js";
import { Scrubber } from "../../../src/util/secrets.js";

const NOW = new Date("2026-11-26T12:00:00.000Z");
const DAY_MS = 86_400_000;
const CLOCK = { now: NOW, expireMs: DAY_MS };

/** `now - (expire - exp)` for the recipe's 24h table. */
const seenAgo = (ms: number) => NOW.getTime() - ms;

// Replies as HAProxy printed them (HAPROXY-NOTES, "Denied clients").
const REPLY_26 = [
  "# table: st_denied, type: ipv6, size:102400, used:2",
  "0x55a33baca360: key=::ffff:127.0.0.5 use=0 exp=86399605 http_req_cnt=3 http_req_rate(3600000)=3",
  "0x7fb6880466b0: key=::ffff:127.0.0.6 use=0 exp=86399728 http_req_cnt=1 http_req_rate(3600000)=1",
  "",
].join("\n");
const REPLY_34 = [
  "# table: st_denied, type: ipv6, size:102400, used:2",
  "0x55a33baca360: key=::ffff:127.0.0.5 use=0 exp=86399605 shard=0 http_req_cnt=3 http_req_rate(3600000)=3",
  "0x7fb6880466b0: key=::ffff:127.0.0.6 use=0 exp=86399728 shard=0 http_req_cnt=1 http_req_rate(3600000)=1",
  "",
].join("\n");
const CLIENTS = [
  { address: "127.0.0.5", requests: 3, lastSeenMs: seenAgo(395) },
  { address: "127.0.0.6", requests: 1, lastSeenMs: seenAgo(272) },
];

describe("parseTableHeader", () => {
  it.each([
    ["# table: st_denied, type: ipv6, size:102400, used:2", { table: "st_denied", type: "ipv6", size: 102400, used: 2 }],
    ["# table: st_ip, type: ip, size:1024, used:0", { table: "st_ip", type: "ip", size: 1024, used: 0 }],
    ["# table: st_str, type: string, size:1024, used:1", { table: "st_str", type: "string", size: 1024, used: 1 }],
    ["# table: st_denied, type: ipv6, size:102400", undefined],
    ["table: st_denied, type: ipv6, size:102400, used:2", undefined],
    ["No such table", undefined],
    ["", undefined],
  ])("%j", (line, expected) => {
    expect(parseTableHeader(line)).toEqual(expected);
  });
});

describe("parseTableEntry", () => {
  it.each([
    [
      "2.6 line",
      "0x1: key=::ffff:127.0.0.5 use=0 exp=86399605 http_req_cnt=3 http_req_rate(3600000)=3",
      { address: "127.0.0.5", requests: 3, lastSeenMs: seenAgo(395) },
    ],
    [
      "3.4 line (shard=0 moves the counters)",
      "0x1: key=::ffff:127.0.0.5 use=0 exp=86399605 shard=0 http_req_cnt=3",
      { address: "127.0.0.5", requests: 3, lastSeenMs: seenAgo(395) },
    ],
    [
      "IPv6 client, canonicalised",
      "0x1: key=2001:DB8:0:0::1 use=0 exp=86000000 http_req_cnt=7",
      { address: "2001:db8::1", requests: 7, lastSeenMs: seenAgo(400_000) },
    ],
    [
      "conn_cnt only (mode tcp)",
      "0x1: key=::ffff:34.66.25.221 use=1 exp=60000 conn_cnt=12",
      { address: "34.66.25.221", requests: 12, lastSeenMs: seenAgo(DAY_MS - 60_000) },
    ],
    [
      "http_req_cnt wins over conn_cnt",
      "0x1: key=::ffff:34.66.25.221 use=0 exp=0 conn_cnt=9 http_req_cnt=4",
      { address: "34.66.25.221", requests: 4, lastSeenMs: seenAgo(DAY_MS) },
    ],
    ["upper-case mapped key", "0x1: key=::FFFF:1.2.3.4 use=0 exp=86400000 http_req_cnt=1", { address: "1.2.3.4", requests: 1, lastSeenMs: NOW.getTime() }],
    ["mapped key in hex", "0x1: key=::ffff:102:304 use=0 exp=86400000 http_req_cnt=1", { address: "1.2.3.4", requests: 1, lastSeenMs: NOW.getTime() }],
    [
      "a field this tool does not know, bare or named, is passed over",
      "0x1: key=::ffff:1.2.3.4 use=0 exp=86400000 flag gpt(2)=0 http_req_cnt=1",
      { address: "1.2.3.4", requests: 1, lastSeenMs: NOW.getTime() },
    ],
    ["plain IPv4 key", "0x1: key=34.66.25.221 use=0 exp=86400000 http_req_cnt=1", { address: "34.66.25.221", requests: 1, lastSeenMs: NOW.getTime() }],
  ])("%s", (_, line, client) => {
    expect(parseTableEntry(line, CLOCK)).toEqual({ kind: "client", client, expOverrun: false });
  });

  it("an exp longer than the configured expire shows the client as seen now, and says so", () => {
    expect(parseTableEntry("0x1: key=::ffff:1.2.3.4 use=0 exp=90000000 http_req_cnt=1", CLOCK)).toEqual({
      kind: "client",
      client: { address: "1.2.3.4", requests: 1, lastSeenMs: NOW.getTime() },
      expOverrun: true,
    });
  });

  it.each([
    ["a string key", "0x1: key=abc use=0 exp=1 http_req_cnt=1", "abc"],
    ["a range", "0x1: key=1.2.3.0/24 use=0 exp=1 http_req_cnt=1", "1.2.3.0/24"],
    ["a zone id", "0x1: key=fe80::1%eth0 use=0 exp=1 http_req_cnt=1", "fe80::1%eth0"],
    ["a leading-zero octet", "0x1: key=01.2.3.4 use=0 exp=1 http_req_cnt=1", "01.2.3.4"],
  ])("%s is no client", (_, line, key) => {
    expect(parseTableEntry(line, CLOCK)).toEqual({ kind: "not-an-address", key });
  });

  it("an entry storing neither counter names what it does store", () => {
    expect(parseTableEntry("0x1: key=::ffff:1.2.3.4 use=0 exp=5 shard=0 gpc0=0 http_req_rate(3600000)=2", CLOCK)).toEqual({
      kind: "no-counter",
      stored: ["gpc0", "http_req_rate(3600000)"],
    });
  });

  it.each([
    ["no pointer", "key=::ffff:1.2.3.4 use=0 exp=5 http_req_cnt=1"],
    ["no key", "0x1: use=0 exp=5 http_req_cnt=1"],
    ["no exp", "0x1: key=::ffff:1.2.3.4 use=0 http_req_cnt=1"],
    ["a negative exp", "0x1: key=::ffff:1.2.3.4 use=0 exp=-5 http_req_cnt=1"],
    ["a counter that is no number", "0x1: key=::ffff:1.2.3.4 use=0 exp=5 http_req_cnt=many"],
    ["an empty line", ""],
  ])("%s is malformed", (_, line) => {
    expect(parseTableEntry(line, CLOCK)).toEqual({ kind: "malformed" });
  });
});

describe("readShowTable", () => {
  it.each([
    ["2.6", REPLY_26],
    ["3.4", REPLY_34],
  ])("reads HAProxy %s's reply", (_, reply) => {
    expect(readShowTable(reply, CLOCK)).toEqual({
      ok: true,
      read: {
        header: { table: "st_denied", type: "ipv6", size: 102400, used: 2 },
        clients: CLIENTS,
        entries: 2,
        skipped: { notAnAddress: 0, malformed: 0 },
        truncated: false,
        expOverrun: false,
      },
    });
  });

  it("fed line by line it gives what the whole text gives", () => {
    const reader = new StickTableReader(CLOCK);
    for (const line of REPLY_34.split("\n")) reader.push(line);
    expect(reader.finish()).toEqual(readShowTable(REPLY_34, CLOCK));
  });

  it("skips keys that are no address and lines that do not parse, and counts them", () => {
    const reply = [
      "# table: st_denied, type: ipv6, size:100, used:4",
      "0x1: key=::ffff:1.2.3.4 use=0 exp=86400000 http_req_cnt=2",
      "0x2: key=not-an-ip use=0 exp=86400000 http_req_cnt=2",
      "garbage",
      "0x4: key=::1 use=0 exp=86400000 http_req_cnt=5",
    ].join("\n");
    const result = readShowTable(reply, CLOCK);
    expect(result.ok && result.read.clients.map((c) => c.address)).toEqual(["1.2.3.4", "::1"]);
    expect(result.ok && result.read.skipped).toEqual({ notAnAddress: 1, malformed: 1 });
    expect(result.ok && result.read.entries).toBe(4);
  });

  it("an empty table is no problem", () => {
    expect(readShowTable("# table: st_denied, type: ipv6, size:100, used:0\n\n", CLOCK)).toMatchObject({
      ok: true,
      read: { clients: [], entries: 0, truncated: false },
    });
  });

  it("a full table is truncated: HAProxy evicted its oldest entries", () => {
    const reply = "# table: st_denied, type: ipv6, size:1, used:1\n0x1: key=::ffff:1.2.3.4 use=0 exp=1 http_req_cnt=2\n";
    expect(readShowTable(reply, CLOCK)).toMatchObject({ ok: true, read: { truncated: true, entries: 1 } });
  });

  it("keeps at most `limit` clients, counts the rest and says it is truncated", () => {
    const lines = Array.from({ length: 5 }, (_, i) => `0x${i}: key=::ffff:10.0.0.${i + 1} use=0 exp=1 http_req_cnt=1`);
    const result = readShowTable(["# table: t, type: ipv6, size:100, used:5", ...lines].join("\n"), { ...CLOCK, limit: 2 });
    expect(result).toMatchObject({ ok: true, read: { entries: 5, truncated: true } });
    expect(result.ok && result.read.clients.map((c) => c.address)).toEqual(["10.0.0.1", "10.0.0.2"]);
  });

  it.each([
    ["No such table\n\n", { kind: "unknown-table" }],
    ["[3]: No such table\n", { kind: "unknown-table" }],
    ["# table: st_ip, type: ip, size:1024, used:2\n0x1: key=127.0.0.5 use=0 exp=3599975 conn_cnt=2\n", { kind: "wrong-type", type: "ip" }],
    ["# table: st_str, type: string, size:1024, used:1\n0x1: key=abc use=0 exp=3599977 gpc0=0\n", { kind: "wrong-type", type: "string" }],
    ["# table: st_int, type: integer, size:1024, used:0\n", { kind: "wrong-type", type: "integer" }],
    ["# table: st_gpc, type: ipv6, size:10, used:1\n0x1: key=::ffff:1.2.3.4 use=0 exp=3 gpc0=1\n", { kind: "no-counter", stored: ["gpc0"] }],
    [
      "Unknown command. Please enter one of the following commands only:\n",
      { kind: "unexpected-reply", line: "Unknown command. Please enter one of the following commands only:" },
    ],
    ["", { kind: "unexpected-reply", line: "" }],
  ])("%j is a problem", (reply, problem) => {
    expect(readShowTable(reply, CLOCK)).toEqual({ ok: false, problem });
  });

  it("is settled by a problem: the rest of a long reply need not be read", () => {
    const reader = new StickTableReader(CLOCK);
    reader.push("# table: st_ip, type: ip, size:1024, used:2");
    expect(reader.settled).toBe(true);
    reader.push("0x1: key=127.0.0.5 use=0 exp=3599975 conn_cnt=2");
    expect(reader.finish()).toEqual({ ok: false, problem: { kind: "wrong-type", type: "ip" } });
  });
});

describe("parseTableList", () => {
  it("names every table of a bare `show table`", () => {
    const reply = [
      "# table: st_str, type: string, size:1024, used:1",
      "# table: st_ip, type: ip, size:1024, used:2",
      "# table: st_denied, type: ipv6, size:102400, used:2",
      "",
    ].join("\n");
    expect(parseTableList(reply)).toEqual([
      { table: "st_str", type: "string", size: 1024, used: 1 },
      { table: "st_ip", type: "ip", size: 1024, used: 2 },
      { table: "st_denied", type: "ipv6", size: 102400, used: 2 },
    ]);
  });

  it("is empty when HAProxy has no tables", () => {
    expect(parseTableList("\n")).toEqual([]);
  });
});

describe("tableProblemError", () => {
  const known = parseTableList("# table: st_ip, type: ip, size:1024, used:2\n# table: edge, type: ipv6, size:10, used:0\n");

  it.each<[TableProblem, string, RegExp]>([
    [{ kind: "unknown-table" }, "E_HAPROXY_TABLE_UNKNOWN", /no stick table st_denied: it has st_ip \(type ip\), edge \(type ipv6\)/],
    [{ kind: "wrong-type", type: "ip" }, "E_HAPROXY_TABLE_TYPE", /st_denied is type ip: IPv6 clients would be dropped; .*type ipv6/],
    [{ kind: "no-counter", stored: ["gpc0"] }, "E_HAPROXY_TABLE_COUNTER", /st_denied stores gpc0, neither http_req_cnt nor conn_cnt/],
    [{ kind: "unexpected-reply", line: "Unknown command." }, "E_HAPROXY_PROTOCOL", /unexpected reply to show table st_denied: "Unknown command\."/],
  ])("%j is %s", (problem, code, message) => {
    const err = tableProblemError(problem, { table: "st_denied", known });
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.at("unix:///run/haproxy/admin.sock").message).toMatch(/^unix:\/\/\/run\/haproxy\/admin\.sock: /);
  });

  it("says so when HAProxy has no tables at all", () => {
    expect(tableProblemError({ kind: "unknown-table" }, { table: "st_denied" }).message).toMatch(/it has no stick tables/);
  });

  it("quotes an unexpected reply scrubbed of the config's secrets and cut short", () => {
    const scrubber = new Scrubber(["s3cret-token-8f2a"]);
    const err = tableProblemError({ kind: "unexpected-reply", line: `s3cret-token-8f2a ${"x".repeat(500)}` }, { table: "st_denied", scrubber });
    expect(err.message).not.toContain("s3cret-token-8f2a");
    expect(err.message.length).toBeLessThan(300);
  });
});
