import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { writeConfig } from "../support/config.js";
import { CLI, logLines, runCli } from "../support/cli.js";
import { travisAddresses } from "../support/fixtures.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { readFileSync } from "node:fs";

const TRAVIS = travisAddresses();
const BUILD = "127.0.0.21";
let dns: RunningDnsServer;
let h: RunningHaproxy;
let config: string;

beforeAll(async () => {
  dns = await startDnsServer({ zones: { "nat.travisci.net": { A: [...TRAVIS, BUILD] }, "broken.example.test": { behaviour: "servfail" } } });
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office", "127.0.0.66 travis"] });
  // The map owns one stray entry and gains the whole set: more than a percent limit allows on a set that small.
  config = await writeConfig(h.dir, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, extra: { guards: { maxAdditions: 100 } } });
});
afterAll(async () => {
  await h.stop();
  await dns.stop();
});

describe("travis-allowlist CLI", () => {
  it("--version and --help exit 0", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string; bin: Record<string, string> };
    expect(await runCli(["--version"])).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("sync");
    for (const command of ["status", "resolve", "audit", "config", "daemon"]) expect(help.stdout).toContain(command);
    // The tests run the same file that `bin` installs.
    expect(CLI).toMatch(/dist\/cli\/main\.js$/);
    expect(CLI.endsWith(pkg.bin["travis-allowlist"] as string)).toBe(true);
  });

  it("bad usage exits 64", async () => {
    expect((await runCli(["sync", "--dry-runn"])).code).toBe(64);
    expect((await runCli(["nonsense"])).code).toBe(64);
    expect((await runCli(["--output", "xml", "resolve"])).code).toBe(64);
    expect((await runCli(["config"])).code).toBe(64);
  });

  it("an invalid config exits 64 naming the key path", async () => {
    const bad = join(h.dir, "bad.yaml");
    await writeFile(bad, "sources: []\nhaproxy:\n  sockets: [/run/admin.sock]\n  map: /m\nguard: {}\n");
    const run = await runCli(["--config", bad, "sync", "--dry-run"]);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain("haproxy.sockets[0]: expected unix:///path, tcp://host:port or tls://host:port");
    expect(run.stderr).toContain("guard: unknown key");
    expect(run.stdout).toBe("");
    const missing = await runCli(["--config", join(h.dir, "nope.yaml"), "resolve"]);
    expect(missing).toMatchObject({ code: 64 });
    expect(missing.stderr).toContain("file not found (give the file with --config FILE or TRAVIS_ALLOWLIST_CONFIG");
    // A script asking for JSON gets one object on stdout, whatever went wrong.
    for (const args of [
      ["--config", bad, "--output", "json", "sync"],
      ["--output=json", "--config", join(h.dir, "nope.yaml"), "status"],
    ]) {
      const json = await runCli(args);
      expect(json.code).toBe(64);
      expect(JSON.parse(json.stdout)).toMatchObject({ exitCode: 64, error: { code: "E_CONFIG_INVALID", message: expect.any(String) } });
    }
  });

  it("finds the config through TRAVIS_ALLOWLIST_CONFIG, then ./travis-allowlist.yaml", async () => {
    expect((await runCli(["resolve"], { env: { TRAVIS_ALLOWLIST_CONFIG: config } })).code).toBe(0);
    expect((await runCli(["resolve"], { cwd: h.dir })).code).toBe(0);
  });

  it("resolve --output json lists every entry with provenance", async () => {
    const run = await runCli(["--config", config, "--output", "json", "resolve"]);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { count: number; entries: Array<{ entry: string; provenance: Array<Record<string, unknown>> }> };
    expect(doc.count).toBe(TRAVIS.length + 1);
    expect(doc.entries.find((e) => e.entry === `${BUILD}/32`)?.provenance).toEqual([
      { source: "travis-dns", hostname: "nat.travisci.net", resolvers: [dns.resolver], ttl: 60 },
    ]);
  });

  it("sync --dry-run --detailed-exitcode exits 2 and changes nothing; sync applies; then exit 0 and no-op", async () => {
    const before = await liveEntries(h);
    const dry = await runCli(["--config", config, "sync", "--dry-run", "--detailed-exitcode"]);
    expect(dry.code).toBe(2);
    expect(dry.stdout).toContain(`+ ${BUILD}/32`);
    expect(dry.stdout).toContain("- 127.0.0.66/32");
    expect(dry.stdout).toContain("Dry run: nothing was changed.");
    expect(await liveEntries(h)).toEqual(before);

    const sync = await runCli(["--config", config, "--output", "json", "sync"]);
    expect(sync.code).toBe(0);
    const result = JSON.parse(sync.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      version: 1,
      dryRun: false,
      desired: { count: TRAVIS.length + 1, digest: expect.stringMatching(/^sha256:/) },
      instances: [{ target: h.unixTarget, status: "applied", remove: ["127.0.0.66/32"], pendingRemoval: [], error: null }],
      held: null,
      exitCode: 0,
    });
    expect(typeof result.runId).toBe("string");
    const logs = logLines(sync.stderr);
    expect(sync.stderr.trim().split("\n")).toHaveLength(logs.length);
    expect(logs.find((l) => l.event === "run-summary")).toMatchObject({ runId: result.runId, added: TRAVIS.length + 1, removed: 1, exitCode: 0 });
    expect(await h.statusFrom(BUILD)).toBe(200);
    expect(await h.statusFrom("127.0.0.66")).toBe(403);

    const again = await runCli(["--config", config, "sync", "--dry-run", "--detailed-exitcode"]);
    expect(again.code).toBe(0);
  });

  it("a failed source exits 1, logs the error under err, and says what state the instance is in", async () => {
    const failing = await writeConfig(
      h.dir,
      { resolver: dns.resolver, names: ["broken.example.test"], sockets: [h.unixTarget], map: h.listFile },
      "failing.yaml",
    );
    const before = await liveEntries(h);
    const run = await runCli(["--config", failing, "sync"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("SERVFAIL");
    expect(run.stdout).toContain("left: unchanged");
    const error = logLines(run.stderr).find((l) => l.level === 50);
    expect(error?.err).toMatchObject({ code: "E_SOURCE_DNS_SERVFAIL" });
    expect(await liveEntries(h)).toEqual(before);
  });

  it("config check prints the effective config with secrets redacted", async () => {
    const withSecrets = join(h.dir, "secrets.yaml");
    await writeFile(
      withSecrets,
      [
        "sources: [{name: pinned, type: static, entries: [34.66.25.221]}]",
        `haproxy: {sockets: ["${h.unixTarget}"], map: ${h.listFile}}`,
        "alerts:",
        "  sinks:",
        '    - {type: slack, url: "${SLACK_WEBHOOK_URL}"}',
        '    - {type: webhook, url: "https://hooks.example/x", headers: {Authorization: "Bearer ${TOKEN}"}}',
        "",
      ].join("\n"),
    );
    const env = { SLACK_WEBHOOK_URL: "https://hooks.slack.example/services/T0/B0/supersecret", TOKEN: "tok-supersecret" };
    const run = await runCli(["--config", withSecrets, "config", "check"], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("valid");
    expect(run.stdout).toContain("maxRemovals: 25%");
    expect(run.stdout + run.stderr).not.toContain("supersecret");
    expect(run.stdout).toContain("https://hooks.slack.example/services/***");
    const json = await runCli(["--config", withSecrets, "--output", "json", "config", "check"], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, config: { haproxy: { kind: "map" } } });
    expect(json.stdout).not.toContain("supersecret");
  });
});

describe("the grace period from the command line", () => {
  it("shows pending removals, and --no-grace removes them at once", async () => {
    const g = await startHaproxy({ kind: "map" });
    try {
      dns.zones["grace.example.test"] = { A: ["127.0.0.31", "127.0.0.32"] };
      const graceConfig = await writeConfig(g.dir, {
        resolver: dns.resolver,
        names: ["grace.example.test"],
        sockets: [g.unixTarget],
        map: g.listFile,
        extra: { guards: { removeAfter: "1h" } },
      });
      expect((await runCli(["--config", graceConfig, "sync"])).code).toBe(0);
      dns.zones["grace.example.test"] = { A: ["127.0.0.31"] };
      const pending = await runCli(["--config", graceConfig, "sync"]);
      expect(pending.code).toBe(0);
      expect(pending.stdout).toMatch(/\? 127\.0\.0\.32\/32 \(absent upstream; kept until \d{4}-\d\d-\d\dT/);
      expect(await g.statusFrom("127.0.0.32")).toBe(200);
      const status = await runCli(["--config", graceConfig, "status"]);
      expect(status.stdout).toContain("? 127.0.0.32/32 (absent upstream; kept until");
      // A removal still to come is a pending change for scripts that ask.
      expect((await runCli(["--config", graceConfig, "status", "--detailed-exitcode"])).code).toBe(2);
      expect((await runCli(["--config", graceConfig, "sync", "--dry-run", "--detailed-exitcode"])).code).toBe(2);
      expect((await runCli(["--config", graceConfig, "sync", "--dry-run"])).code).toBe(0);
      const now = await runCli(["--config", graceConfig, "--output", "json", "sync", "--no-grace"]);
      expect(JSON.parse(now.stdout)).toMatchObject({ noGrace: true, instances: [{ status: "applied", remove: ["127.0.0.32/32"] }] });
      expect(await g.statusFrom("127.0.0.32")).toBe(403);
    } finally {
      await g.stop();
    }
  });
});
