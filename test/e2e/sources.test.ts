import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/record.js";
import { logLines, runCli } from "../support/cli.js";
import { configDocument } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { type RunningDohServer, startDohServer } from "../support/doh-server.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { loopbackCertificate } from "../support/tls.js";

const NAME = "nat.travisci.net";
let a: RunningDnsServer;
let b: RunningDnsServer;
let doh: RunningDohServer;
let feed: HttpReceiver;
let hook: HttpReceiver;
let h: RunningHaproxy;

beforeAll(async () => {
  a = await startDnsServer({ zones: { [NAME]: { A: ["127.0.0.21", "34.66.25.221", "6.6.6.6"] } } });
  b = await startDnsServer({ zones: { [NAME]: { A: ["127.0.0.21", "34.66.25.221"] } } });
  doh = await startDohServer({ address: b.address, port: b.port });
  feed = await startReceiver([404], (req, res) => {
    if (req.path === "/travis.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ results: { records: ["127.0.0.22", "35.188.1.99"] } }));
      return;
    }
    if (req.path === "/bad.txt") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("35.188.1.99\n10.0.0.0/8\n203.0.113.0/24\n");
      return;
    }
    return false;
  });
  hook = await startReceiver([200]);
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop(), doh.stop(), feed.stop(), hook.stop(), h.stop()]);
});

async function config(file: string, sources: unknown[], extra: Record<string, unknown> = {}): Promise<string> {
  const document = { ...configDocument({ sockets: [h.unixTarget], map: h.listFile }), sources, ...extra };
  const path = join(h.dir, file);
  await writeFile(path, stringify(document));
  return path;
}

const env = { NODE_EXTRA_CA_CERTS: loopbackCertificate().certPath };

describe("sources end to end", () => {
  it("syncs from DNS over HTTPS and UDP with a quorum plus a JSON feed; drops and reports what lacks quorum", async () => {
    const path = await config(
      "mixed.yaml",
      [
        { name: "travis-dns", type: "dns", names: [NAME], resolvers: [a.resolver, doh.url], quorum: 2, timeoutMs: 500 },
        { name: "travis-dnsjson", type: "http", url: `${feed.url}/travis.json`, format: "dnsjson" },
      ],
      { alerts: { on: ["unexpected"], sinks: [{ type: "webhook", url: hook.url }] } },
    );

    const resolved = await runCli(["--config", path, "--output", "json", "resolve"], { env });
    expect(resolved.code).toBe(0);
    const doc = JSON.parse(resolved.stdout) as {
      entries: Array<{ entry: string; provenance: Array<Record<string, unknown>> }>;
      sources: Array<{ disagreements?: unknown[] }>;
    };
    expect(doc.entries.map((e) => e.entry)).toEqual(["34.66.25.221/32", "35.188.1.99/32", "127.0.0.21/32", "127.0.0.22/32"]);
    expect(doc.entries.find((e) => e.entry === "127.0.0.21/32")?.provenance).toEqual([
      { source: "travis-dns", hostname: NAME, resolvers: [a.resolver, doh.url], ttl: 60 },
    ]);
    expect(doc.entries.find((e) => e.entry === "127.0.0.22/32")?.provenance).toEqual([{ source: "travis-dnsjson", url: `${feed.url}/travis.json` }]);
    expect(doc.sources[0]?.disagreements).toEqual([{ address: "6.6.6.6", hostname: NAME, returnedBy: [a.resolver], missingFrom: [doh.url], counted: false }]);

    const text = await runCli(["--config", path, "resolve"], { env });
    expect(text.stdout).toContain(`disagreement 6.6.6.6 (${NAME}, travis-dns): returned by ${a.resolver}; missing from ${doh.url}; DROPPED (below the quorum)`);

    const run = await runCli(["--config", path, "sync"], { env });
    expect(run.code).toBe(0);
    expect(await h.statusFrom("127.0.0.21")).toBe(200);
    expect(await h.statusFrom("127.0.0.22")).toBe(200);
    expect(await liveEntries(h)).not.toContain("6.6.6.6/32 travis");
    expect(logLines(run.stderr).some((l) => l.level === 40 && l.address === "6.6.6.6" && l.counted === false)).toBe(true);
    expect(hook.requests.map((r) => (r.json as { event: string; summary: string }).summary)).toEqual([
      expect.stringContaining("1 addresses dropped for lack of resolver quorum: 6.6.6.6"),
    ]);
    const audit = (await readFile(join(h.dir, "audit.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AuditRecord);
    expect(audit.at(-1)?.sources[0]?.disagreements).toEqual([
      { address: "6.6.6.6", hostname: NAME, returnedBy: [a.resolver], missingFrom: [doh.url], counted: false },
    ]);
  });

  it("resolve --output json lists every rejected value with its reason and exits 1", async () => {
    const path = await config("bad.yaml", [{ name: "feed", type: "http", url: `${feed.url}/bad.txt`, format: "lines" }], { guards: { allowReserved: false } });
    const run = await runCli(["--config", path, "--output", "json", "resolve"], { env });
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as { entries: Array<{ entry: string }>; rejected: unknown[]; error: { code: string } };
    expect(doc.entries.map((e) => e.entry)).toEqual(["35.188.1.99/32"]);
    expect(doc.rejected).toEqual([
      { source: "feed", value: "10.0.0.0/8", reason: "broader than /16 (guards.minPrefixV4)" },
      { source: "feed", value: "203.0.113.0/24", reason: "reserved range: documentation (203.0.113.0/24) (guards.allowReserved is false)" },
    ]);
    expect(doc.error.code).toBe("E_DESIRED_REJECTED");
  });
});

describe("source digests", () => {
  it("are the same for the same answer in another order (DNS servers rotate their answers)", async () => {
    const rotating = await startDnsServer({ zones: { [NAME]: { A: ["127.0.0.21", "34.66.25.221", "35.188.1.99"] } } });
    try {
      const path = await config("rotating.yaml", [{ name: "travis-dns", type: "dns", names: [NAME], resolvers: [rotating.resolver], timeoutMs: 500 }]);
      const digest = async () => {
        const run = await runCli(["--config", path, "--output", "json", "resolve"]);
        return (JSON.parse(run.stdout) as { sources: Array<{ digest: string }> }).sources[0]?.digest;
      };
      const first = await digest();
      rotating.zones[NAME] = { A: ["35.188.1.99", "127.0.0.21", "34.66.25.221"] };
      expect(await digest()).toBe(first);
      rotating.zones[NAME] = { A: ["35.188.1.99", "127.0.0.21"] };
      expect(await digest()).not.toBe(first);
    } finally {
      await rotating.stop();
    }
  });
});

describe("the documented github-meta example", () => {
  /** GitHub's published hooks ranges, as api.github.com/meta lists them. */
  const HOOKS = ["192.30.252.0/22", "185.199.108.0/22", "140.82.112.0/20", "143.55.64.0/20", "2a0a:a440::/29", "2606:50c0::/32"];

  it("accepts GitHub's hooks ranges with the guards written next to it, and the default guards refuse them, naming the range", async () => {
    const meta = await startReceiver([404], (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ verifiable_password_authentication: false, hooks: HOOKS, web: ["140.82.112.0/20"] }));
    });
    try {
      const readme = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
      const block = /\n {4}sources:\n {6}- name: github-hooks\n[\s\S]*?\n\n/.exec(readme)?.[0] ?? "";
      const example = parse(block.replace(/^ {4}/gm, "")) as { sources: Array<Record<string, unknown>>; guards: Record<string, unknown> };
      expect(example.sources[0]).toMatchObject({ format: "github-meta", key: "hooks" });
      const sources = [{ ...example.sources[0], url: `${meta.url}/meta` }];
      const withGuards = await config("github-guards.yaml", sources, { guards: { ...example.guards, removeAfter: "0" } });
      const accepted = await runCli(["--config", withGuards, "--output", "json", "resolve"]);
      expect(accepted.code).toBe(0);
      expect((JSON.parse(accepted.stdout) as { entries: Array<{ entry: string }> }).entries.map((e) => e.entry).sort()).toEqual([...HOOKS].sort());
      const defaults = await config("github-defaults.yaml", sources, { guards: { removeAfter: "0" } });
      const refused = await runCli(["--config", defaults, "resolve"]);
      expect(refused.code).toBe(1);
      expect(refused.stdout + refused.stderr).toContain("2a0a:a440::/29");
    } finally {
      await meta.stop();
    }
  });
});
