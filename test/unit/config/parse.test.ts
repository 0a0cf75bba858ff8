import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/parse.js";
import { formatDuration, parseDuration } from "../../../src/config/duration.js";
import { parseLimit } from "../../../src/config/limits.js";
import { redactConfig } from "../../../src/config/redact.js";
import { redactUrl } from "../../../src/util/url.js";
import { substituteEnv } from "../../../src/config/env.js";
import type { ConfigIssue } from "../../../src/errors.js";

const MINIMAL = `
sources:
  - name: travis-dns
    type: dns
    names: [nat.travisci.net]
    resolvers: ["127.0.0.1:5353"]
haproxy:
  sockets: ["unix:///run/haproxy/admin.sock"]
  map: /etc/haproxy/maps/travis.map
`;

function issuesOf(text: string, env: Record<string, string> = {}) {
  return parseConfig(text, env).issues;
}

describe("parseConfig", () => {
  it("fills safe defaults for everything optional", () => {
    const { config, issues } = parseConfig(MINIMAL, {});
    expect(issues).toEqual([]);
    expect(config?.haproxy).toMatchObject({ kind: "map", value: "travis", persist: false, timeoutMs: 5000 });
    expect(config?.guards).toMatchObject({ minPrefixV4: 16, minPrefixV6: 32, allowReserved: false, maxRemovals: { fraction: 0.25 }, removeAfterMs: 3_600_000 });
    expect(config?.alerts).toMatchObject({ sinks: [], repeatIntervalMs: 4 * 3_600_000 });
    expect(config?.sources[0]).toMatchObject({ quorum: 1, timeoutMs: 2000, requireDnssec: false });
    expect(config?.exclude).toEqual([]);
  });

  it("reads JSON as well as YAML", () => {
    const json = JSON.stringify({
      sources: [{ name: "pinned", type: "static", entries: ["34.66.25.221"] }],
      haproxy: { sockets: ["tcp://127.0.0.1:9999"], map: "/m.map", kind: "acl" },
    });
    expect(parseConfig(json, {}).config?.haproxy.kind).toBe("acl");
  });

  it.each([
    ["an unknown top-level key", `${MINIMAL}guard:\n  maxRemovals: 1\n`, "guard", "unknown key"],
    ["a misspelt guard", `${MINIMAL}guards:\n  maxRemoval: 1\n`, "guards.maxRemoval", "unknown key"],
    [
      "a bad socket",
      MINIMAL.replace("unix:///run/haproxy/admin.sock", "/run/haproxy/admin.sock"),
      "haproxy.sockets[0]",
      "expected unix:///path, tcp://host:port or tls://host:port",
    ],
    [
      "a tcp socket without port",
      MINIMAL.replace("unix:///run/haproxy/admin.sock", "tcp://127.0.0.1"),
      "haproxy.sockets[0]",
      "expected unix:///path, tcp://host:port or tls://host:port",
    ],
    ["a tls socket without haproxy.tls", MINIMAL.replace("unix:///run/haproxy/admin.sock", "tls://haproxy-runtime:9999"), "haproxy.tls", "for tls:// sockets"],
    ["a client cert without its key", `${MINIMAL}  tls: { ca: /ca.crt, cert: /tls.crt }\n`, "haproxy.tls", "both cert and key"],
    ["a tls block without ca", `${MINIMAL}  tls: { cert: /tls.crt, key: /tls.key }\n`, "haproxy.tls.ca", "required"],
    ["a textfile node_exporter would not read", `${MINIMAL}metrics:\n  textfile: /var/lib/node_exporter/travis.txt\n`, "metrics.textfile", "ending in .prom"],
    ["a map path with a separator", MINIMAL.replace("/etc/haproxy/maps/travis.map", '"/m.map;clear map /m.map"'), "haproxy.map", "file path"],
    ["an unsafe map value", `${MINIMAL}  value: "travis ok"\n`, "haproxy.value", "map value"],
    ["a bad kind", `${MINIMAL}  kind: list\n`, "haproxy.kind", "expected map or acl"],
    ["a missing map", MINIMAL.replace("  map: /etc/haproxy/maps/travis.map\n", ""), "haproxy.map", "required"],
    ["a value on an ACL, which carries none", `${MINIMAL}  kind: acl\n  value: ci\n`, "haproxy.value", "no value with kind: acl"],
    ["a map of the wrong type, which is not missing", MINIMAL.replace("/etc/haproxy/maps/travis.map", "5"), "haproxy.map", "got number 5"],
    [
      "a timeout given as text",
      MINIMAL.replace("  map: /etc/haproxy/maps/travis.map\n", '  map: /m.map\n  timeoutMs: "5s"\n'),
      "haproxy.timeoutMs",
      "got a string",
    ],
    ["no sources", MINIMAL.replace(/sources:[\s\S]*?haproxy:/, "sources: []\nhaproxy:"), "sources", "at least one source"],
    ["an unknown source type", MINIMAL.replace("type: dns", "type: dnz"), "sources[0].type", "type dns, http or static"],
    ["a bad resolver", MINIMAL.replace("127.0.0.1:5353", "127.0.0.1:99999"), "sources[0].resolvers[0]", "IP address"],
    ["a bad DNS name", MINIMAL.replace("nat.travisci.net", "nat travisci"), "sources[0].names[0]", "DNS name"],
    ["quorum above resolvers", `${MINIMAL.replace("    resolvers:", "    quorum: 2\n    resolvers:")}`, "sources[0].quorum", "at most 1"],
    ["a bad exclude", `${MINIMAL}exclude: ["35.231.58.1/24"]\n`, "exclude[0]", "CIDR"],
    ["a bad percentage", `${MINIMAL}guards:\n  maxRemovals: "lots"\n`, "guards.maxRemovals", "percentage"],
    ["a prefix out of range", `${MINIMAL}guards:\n  minPrefixV4: 40\n`, "guards.minPrefixV4", "1 to 32"],
    ["a bad duration", `${MINIMAL}guards:\n  removeAfter: soon\n`, "guards.removeAfter", "duration"],
    ["a wrong type", `${MINIMAL}guards:\n  allowReserved: "yes"\n`, "guards.allowReserved", "true or false"],
    [
      "duplicate source names",
      MINIMAL.replace("haproxy:", "  - name: travis-dns\n    type: static\n    entries: [34.66.25.221]\nhaproxy:"),
      "sources[1].name",
      "duplicate",
    ],
    [
      "github-meta without a key",
      MINIMAL.replace("haproxy:", "  - name: feed\n    type: http\n    url: https://example.invalid/meta\n    format: github-meta\nhaproxy:"),
      "sources[1].key",
      "required for format github-meta",
    ],
    [
      "an unknown feed format",
      MINIMAL.replace("haproxy:", "  - name: feed\n    type: http\n    url: https://example.invalid/a.txt\n    format: csv\nhaproxy:"),
      "sources[1].format",
      "expected one of dnsjson, github-meta, lines, json",
    ],
    [
      "a feed URL that is not http(s)",
      MINIMAL.replace("haproxy:", "  - name: feed\n    type: http\n    url: ftp://example.invalid/a.txt\n    format: lines\nhaproxy:"),
      "sources[1].url",
      "http:// or https://",
    ],
    ["a DoH resolver over plain http", MINIMAL.replace("127.0.0.1:5353", "http://127.0.0.1/dns-query"), "sources[0].resolvers[0]", "IP address"],
    [
      "a duplicate socket",
      MINIMAL.replace('["unix:///run/haproxy/admin.sock"]', '["unix:///run/haproxy/admin.sock", "unix:///run/haproxy/admin.sock"]'),
      "haproxy.sockets[1]",
      "duplicate of haproxy.sockets[0]",
    ],
    ["a bad schedule", `${MINIMAL}schedule: "every ten minutes"\n`, "schedule", "cron expression"],
    ["a bad metrics listen address", `${MINIMAL}metrics:\n  listen: "9464"\n`, "metrics.listen", "host:port"],
    ["a missing env var", MINIMAL.replace("127.0.0.1:5353", "${RESOLVER}"), "sources[0].resolvers[0]", "RESOLVER is not set"],
  ])("names the key for %s", (_label, text, path, message) => {
    const issues = issuesOf(text);
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)?.message).toContain(message);
  });

  it("reports every problem at once", () => {
    const issues = issuesOf(`${MINIMAL.replace("type: dns", "type: dnz")}guard: {}\nexclude: [bad]\n`);
    expect(issues.map((i) => i.path).sort()).toEqual(["exclude[0]", "guard", "sources[0].type"]);
  });

  it.each([
    ["an unclosed flow sequence", "sources: [\n  - a: b\nhaproxy: {", /^\(line [1-9]\d*, column [1-9]\d*\)$/],
    ["a tab for indentation on line 3", "sources:\n  - name: a\n\ttype: dns\n", /^\(line 3, column 1\)$/],
    ["a duplicate key on line 2", "haproxy: {}\nhaproxy: {}\n", /^\(line 2, column 1\)$/],
  ])("reports YAML syntax errors with a line and column: %s", (_name, text, where) => {
    const issues = issuesOf(text);
    expect(issues[0]?.path).toMatch(where);
    expect(issues[0]?.message).not.toMatch(/at line \d+/);
  });

  it("substitutes ${VAR} in values", () => {
    const { config } = parseConfig(MINIMAL.replace("127.0.0.1:5353", "${RESOLVER}"), { RESOLVER: "127.0.0.1:53" });
    expect(config?.sources[0]).toMatchObject({ resolvers: [{ kind: "udp", host: "127.0.0.1", port: 53, label: "127.0.0.1:53" }] });
  });

  it("keeps $$ as a literal dollar and reports each unset variable with its path", () => {
    const issues: ConfigIssue[] = [];
    const out = substituteEnv({ a: ["x$${HOME}", "${A}-${B}"] }, { A: "1" }, issues);
    expect(out).toEqual({ a: ["x${HOME}", "1-${B}"] });
    expect(issues).toEqual([{ path: "a[1]", message: "environment variable B is not set" }]);
  });

  it.each([
    ["${A:-x}", {}, "x"],
    ["${A:-x}", { A: "" }, "x"],
    ["${A:-x}", { A: "set" }, "set"],
    ["${A:-}", {}, ""],
    ["p-${A:-d}-s", {}, "p-d-s"],
  ])("%s with %j is %j", (text, env, expected) => {
    const issues: ConfigIssue[] = [];
    expect(substituteEnv(text, env, issues)).toBe(expected);
    expect(issues).toEqual([]);
  });

  it("leaves out a sink whose whole URL is ${VAR:-} while VAR is unset, and keeps it once set", () => {
    const text = `${MINIMAL}alerts:\n  on: [failed]\n  sinks:\n    - { type: slack, url: "\${SLACK:-}" }\n    - { type: webhook, url: "https://hooks.example/a" }\n`;
    expect(parseConfig(text, {}).config?.alerts?.sinks.map((s) => s.type)).toEqual(["webhook"]);
    expect(parseConfig(text, { SLACK: "" }).config?.alerts?.sinks.map((s) => s.type)).toEqual(["webhook"]);
    expect(parseConfig(text, { SLACK: "https://hooks.slack.com/services/T/B/X" }).config?.alerts?.sinks.map((s) => s.type)).toEqual(["slack", "webhook"]);
    // Only a whole-URL optional reference makes a sink optional: an empty URL otherwise is an error.
    expect(issuesOf(text.replace("${SLACK:-}", "${SLACK:-}/hook")).map((i) => i.path)).toEqual(["alerts.sinks[0].url"]);
  });

  it("does not let a variable add structure", () => {
    const { issues } = parseConfig(MINIMAL.replace("127.0.0.1:5353", "${RESOLVER}"), { RESOLVER: '127.0.0.1"]\nexclude: ["x' });
    expect(issues.map((i) => i.path)).toEqual(["sources[0].resolvers[0]"]);
  });
});

describe("parseDuration", () => {
  it.each([
    ["0", 0],
    ["90s", 90_000],
    ["1h", 3_600_000],
    ["2h30m", 9_000_000],
    ["1d", 86_400_000],
    ["500ms", 500],
  ])("%s = %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(["", "1", "h", "1 h", "-1h", "1y"])("rejects %j", (text) => expect(parseDuration(text)).toBeUndefined());
});

describe("redactConfig", () => {
  it("hides alert URLs and headers and URL credentials", () => {
    const redacted = redactConfig({
      alerts: { sinks: [{ type: "webhook", url: "https://hooks.example/x?token=s3cret", headers: { Authorization: "Bearer s3cret" } }] },
      metrics: { pushgateway: "http://user:s3cret@pushgateway:9091" },
    });
    const text = JSON.stringify(redacted);
    expect(text).not.toContain("s3cret");
    expect(text).toContain("pushgateway:9091");
  });
});

describe("redactUrl", () => {
  it.each([
    ["https://hooks.slack.com/services/T000/B000/XXXXXXXX", "https://hooks.slack.com/services/***"],
    ["http://alertmanager:9093", "http://alertmanager:9093"],
    ["http://alertmanager:9093/", "http://alertmanager:9093"],
    ["https://user:pass@hooks.example/allowlist", "https://***@hooks.example/allowlist"],
    ["https://hooks.example/allowlist?token=abc", "https://hooks.example/allowlist/***"],
    ["not a url", "***"],
    ["https://feed.example/3f9a1c7be0d24e55", "https://feed.example/***"],
    ["https://feed.example/QxTokenSecretLongEnoughToHide", "https://feed.example/***"],
    ["https://feed.example/ip-ranges.json", "https://feed.example/ip-ranges.json"],
    ["https://dns.example/dns-query?token=abc", "https://dns.example/dns-query/***"],
    ["https://api.example/v1/meta", "https://api.example/v1/***"],
  ])("%s", (input, expected) => expect(redactUrl(input)).toBe(expected));
});

describe("parseConfig on hostile YAML", () => {
  it.each(["*!", "a: &x [*x]", "[[[[", "? : :"])("%j gives issues, not a crash", (text) => {
    const parsed = parseConfig(text, {});
    expect(parsed.config).toBeUndefined();
    expect(parsed.issues.length).toBeGreaterThan(0);
  });
});

describe("the contract's own example", () => {
  it("the SPEC sample config (http source with a key, discovery, every sink) is accepted", () => {
    const text = `
sources:
  - { name: travis-dns, type: dns, names: [nat.travisci.net], resolvers: ["127.0.0.1:5353"], quorum: 1, timeoutMs: 2000, requireDnssec: false }
  - { name: travis-dnsjson, type: http, url: "https://dnsjson.com/nat.travisci.net/A.json", format: dnsjson, key: actions }
  - { name: pinned, type: static, entries: ["203.0.113.7/32"] }
exclude: ["35.231.58.0/32"]
haproxy:
  sockets: ["unix:///run/haproxy/admin.sock", "tcp://127.0.0.1:9999"]
  discover: { dns: haproxy-runtime.edge.svc.cluster.local, port: 9999, resolvers: ["10.96.0.10"] }
  map: /etc/haproxy/maps/travis.map
  kind: map
  value: travis
  persist: false
  timeoutMs: 5000
guards: { minEntries: 1, maxAdditions: "50%", maxRemovals: "25%", minPrefixV4: 16, minPrefixV6: 32, allowReserved: false, expected: ["34.0.0.0/8"], removeAfter: "1h" }
audit: { path: /var/lib/travis-allowlist/audit.jsonl }
stateDir: /var/lib/travis-allowlist
alerts:
  on: [held, failed, unexpected, changed]
  sinks:
    - { type: slack, url: "\${SLACK_WEBHOOK_URL}" }
    - { type: alertmanager, url: "http://alertmanager:9093" }
    - { type: webhook, url: "https://hooks.example/allowlist", headers: { Authorization: "Bearer \${TOKEN}" } }
schedule: "*/10 * * * *"
metrics: { listen: "0.0.0.0:9464", pushgateway: "http://pushgateway:9091", textfile: /var/lib/node_exporter/travis-allowlist.prom }
`;
    const parsed = parseConfig(text, { SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/X", TOKEN: "t" });
    expect(parsed.issues).toEqual([]);
  });
});

describe("guard limits are parsed once, into counts and fractions", () => {
  it.each([
    [10, { count: 10 }],
    [0, { count: 0 }],
    ["25%", { fraction: 0.25 }],
    ["12.5%", { fraction: 0.125 }],
    ["25", undefined],
    [-1, undefined],
    [1.5, undefined],
    ["%", undefined],
  ])("%j → %j", (value, expected) => {
    expect(parseLimit(value)).toEqual(expected);
  });

  it("the program gets numbers, computed once: limits as counts or fractions, durations in milliseconds, defaults applied", () => {
    const parsed = parseConfig(
      JSON.stringify({
        sources: [{ name: "s", type: "static", entries: ["34.66.25.221"] }],
        haproxy: { sockets: ["unix:///a.sock"], map: "/m.map" },
        guards: { maxRemovals: 5, removeAfter: "1h30m" },
        audit: { heartbeat: "0" },
        alerts: { repeatInterval: "2h" },
        schedule: "*/5 * * * *",
      }),
      {},
    );
    expect(parsed.config).toMatchObject({
      guards: { minEntries: 1, maxAdditions: { fraction: 0.5 }, maxRemovals: { count: 5 }, removeAfterMs: 5_400_000 },
      audit: { heartbeatMs: 0 },
      alerts: { repeatIntervalMs: 7_200_000 },
      runTimeoutMs: 300_000,
      watchIntervalMs: 5000,
      schedulePeriodMs: 300_000,
    });
    // What `config check` shows is the file as written, defaults filled in.
    expect(parsed.file).toMatchObject({ guards: { maxRemovals: 5, removeAfter: "1h30m", maxAdditions: "50%" }, runTimeout: "5m" });
  });

  it("shows each duration and limit as written and gives the program its value, from one parse", () => {
    const parsed = parseConfig(`${MINIMAL}guards:\n  maxAdditions: "12.5%"\n  removeAfter: 90m\nrunTimeout: 120s\n`, {});
    expect(parsed.file).toMatchObject({ guards: { maxAdditions: "12.5%", removeAfter: "90m" }, runTimeout: "120s" });
    expect(parsed.config).toMatchObject({ guards: { maxAdditions: { fraction: 0.125 }, removeAfterMs: 5_400_000 }, runTimeoutMs: 120_000 });
  });

  it("takes the denied clients' table with its expire (24h unless written), shown as written and used in milliseconds", () => {
    const table = (denials: string) => parseConfig(`${MINIMAL}  denials: ${denials}\n`, {});
    expect(table("{ table: st_denied }").config?.haproxy.denials).toEqual({ table: "st_denied", expireMs: 86_400_000 });
    const written = table("{ table: st_denied, expire: 2h }");
    expect(written.file?.haproxy.denials).toEqual({ table: "st_denied", expire: "2h" });
    expect(written.config?.haproxy.denials).toEqual({ table: "st_denied", expireMs: 7_200_000 });
    expect(table("{ table: st_denied, expire: soon }").issues).toMatchObject([{ path: "haproxy.denials.expire" }]);
    expect(parseConfig(MINIMAL, {}).config?.haproxy.denials).toBeUndefined();
  });

  it("reports a bad duration or limit together with the file's other problems", () => {
    const issues = issuesOf(`${MINIMAL.replace("type: dns", "type: dnz")}guards:\n  maxRemovals: -1\n  removeAfter: soon\nwatchInterval: 5\n`);
    expect(issues.map((i) => i.path).sort()).toEqual(["guards.maxRemovals", "guards.removeAfter", "sources[0].type", "watchInterval"]);
    expect(issues.find((i) => i.path === "watchInterval")?.message).toBe('expected a duration such as "1h", "30m" or "0", got number 5');
  });

  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  // When a config is read must not change what its schedule's period is.
  const READ_AT = {
    "a Monday afternoon": "2026-12-07T16:30:00Z",
    "a Friday evening": "2026-12-11T19:00:00Z",
    "a Sunday": "2026-12-13T12:00:00Z",
    "the night before a leap day": "2028-02-28T23:30:00Z",
  };
  const SCHEDULES: Array<[string, string, number]> = [
    ["every ten minutes", "*/10 * * * *", 10 * 60_000],
    ["weekdays every five minutes", "*/5 * * * 1-5", 48 * HOUR + 5 * 60_000],
    ["twice daily", "0 9,17 * * *", 16 * HOUR],
    ["twice daily on weekdays", "0 9,17 * * 1-5", 64 * HOUR],
    ["weekday mornings", "0 6 * * 1-5", 72 * HOUR],
    ["monthly", "0 0 1 * *", 31 * DAY],
    ["on the last day of the month", "0 0 L * *", 31 * DAY],
    ["yearly", "0 0 1 1 *", 366 * DAY],
    ["on leap days", "0 12 29 2 *", 1461 * DAY],
  ];
  it.each(Object.entries(READ_AT).flatMap(([when, iso]) => SCHEDULES.map(([what, schedule, periodMs]) => ({ when, iso, what, schedule, periodMs }))))(
    "the period of $what ($schedule) read on $when is its longest gap between runs",
    ({ iso, schedule, periodMs }) => {
      const parsed = parseConfig(`${MINIMAL}schedule: "${schedule}"\n`, {}, { now: () => new Date(iso) });
      expect(parsed.config?.schedulePeriodMs).toBe(periodMs);
    },
  );

  it.each([0, 1, 999, 1000, 61_000, 5_400_000, 86_400_000 + 1500])("formatDuration(%i) reads back as the same duration", (ms) => {
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
