import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_TIMEOUT_MS, logLines, runCli } from "../support/cli.js";
import { configDocument } from "../support/config.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { type RunningDnsServer, startDnsServer } from "../support/dns-server.js";
import { type RunningDohServer, startDohServer } from "../support/doh-server.js";
import { loopbackCertificate } from "../support/tls.js";
import { tempDir } from "../support/tmp.js";

/** Values only the environment knows; each must reach its own destination and nothing else. */
const SECRETS = {
  FEED_TOKEN: "feedtoken-3f9a1c",
  HOOK_TOKEN: "hooktoken-77b2e0",
  AUTH: "authsecret-5d4c",
  DOH_TOKEN: "dohtoken-91e4aa",
  AM_TOKEN: "amtoken-0c7d52",
};
/** Written into the config as it is, not through `${VAR}`: only URL redaction can hide it. */
const LITERAL_TOKEN = "Lt9x8Q2w7RkA5mZ3";
const NAME = "nat.travisci.net";

let feed: HttpReceiver;
let sink: HttpReceiver;
let alertmanager: HttpReceiver;
let dns: RunningDnsServer;
let doh: RunningDohServer;
let h: RunningHaproxy;
let config: string;

beforeAll(async () => {
  feed = await startReceiver([404], (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("127.0.0.21\n");
  });
  // A sink that fails and echoes what it was sent, headers included, as some proxies do.
  sink = await startReceiver([200], (req, res) => {
    res.writeHead(500, { "content-type": "text/plain" });
    // ...and with terminal control sequences in it.
    res.end(`\u001b[2J\u001b[31mupstream error; you sent authorization=${String(req.headers.authorization)} to ${req.path}\u0007`);
  });
  alertmanager = await startReceiver([200]);
  dns = await startDnsServer({ zones: { [NAME]: { A: ["127.0.0.23"] } } });
  doh = await startDohServer({ address: dns.address, port: dns.port });
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
  const document = configDocument({ sockets: [h.unixTarget], map: h.listFile });
  config = join(h.dir, "travis-allowlist.yaml");
  await writeFile(
    config,
    stringify({
      ...document,
      // The token is the URL's single path segment, which plain URL redaction keeps.
      sources: [
        { name: "feed", type: "http", url: `${feed.url}/\${FEED_TOKEN}`, format: "lines" },
        { name: "literal", type: "http", url: `${feed.url}/${LITERAL_TOKEN}`, format: "lines" },
        { name: "travis-dns", type: "dns", names: [NAME], resolvers: [`${doh.url}?token=\${DOH_TOKEN}`], timeoutMs: 2000 },
      ],
      alerts: {
        on: ["changed"],
        sinks: [
          { type: "webhook", url: `${sink.url}/hook?token=\${HOOK_TOKEN}`, headers: { Authorization: "Bearer ${AUTH}" }, timeoutMs: 2000 },
          { type: "alertmanager", url: `${alertmanager.url}/\${AM_TOKEN}`, timeoutMs: 2000 },
        ],
      },
      metrics: { textfile: join(h.dir, "travis-allowlist.prom") },
    }),
  );
});
afterAll(async () => {
  await Promise.all([feed.stop(), sink.stop(), alertmanager.stop(), doh.stop(), dns.stop(), h.stop()]);
});

async function filesBelow(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesBelow(path)));
    else if (entry.isFile() && !entry.name.endsWith(".yaml") && !entry.name.endsWith(".sock")) found.push(path);
  }
  return found;
}

describe("secrets from ${VAR}", () => {
  // Eight CLI runs one after another, each a cold start that takes seconds on a busy machine: the budget is theirs.
  const RUNS_BUDGET_MS = 8 * CLI_TIMEOUT_MS;
  it(
    "reach their own destinations and appear in no output, log, audit record, state or cache file, alert body or metric; remote control characters reach no terminal",
    async () => {
      const env = { ...SECRETS, NODE_EXTRA_CA_CERTS: loopbackCertificate().certPath };
      const runs = [
        await runCli(["--config", config, "config", "check"], { env }),
        await runCli(["--config", config, "--output", "json", "sync"], { env }),
        await runCli(["--config", config, "--log-level", "debug", "sync", "--dry-run"], { env }),
        await runCli(["--config", config, "--output", "json", "resolve"], { env }),
        await runCli(["--config", config, "status"], { env }),
        await runCli(["--config", config, "--output", "json", "explain", "127.0.0.21"], { env }),
        await runCli(["--config", config, "--output", "json", "audit", "show"], { env }),
      ];
      // Once more in text, with a change to make, so the sink's failed reply is shown on the terminal.
      await h.command(`del map ${h.listFile} 127.0.0.21/32`);
      runs.push(await runCli(["--config", config, "sync"], { env }));
      expect(runs.at(-1)?.stdout).toContain("Alert not delivered: ");
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);

      // The destinations got them: the feed its path, the sink its query and header.
      expect(feed.requests.some((r) => r.path === `/${SECRETS.FEED_TOKEN}`)).toBe(true);
      expect(sink.requests.some((r) => r.path === `/hook?token=${SECRETS.HOOK_TOKEN}` && r.headers.authorization === `Bearer ${SECRETS.AUTH}`)).toBe(true);
      expect(feed.requests.some((r) => r.path === `/${LITERAL_TOKEN}`)).toBe(true);
      expect(doh.paths.some((p) => p === `/dns-query?token=${SECRETS.DOH_TOKEN}`)).toBe(true);
      expect(alertmanager.requests.some((r) => r.path === `/${SECRETS.AM_TOKEN}/api/v2/alerts`)).toBe(true);
      expect(await liveEntries(h)).toEqual(expect.arrayContaining(["127.0.0.21/32 travis", "127.0.0.23/32 travis"]));

      const sync = JSON.parse(runs[1]?.stdout ?? "{}") as { alerts: Array<{ ok: boolean; error: string | null }> };
      expect(sync.alerts[0]).toMatchObject({ ok: false, error: expect.stringContaining("authorization=Bearer ***") });

      const written = await Promise.all((await filesBelow(h.dir)).map(async (path) => ({ path, text: await readFile(path, "utf8") })));
      expect(written.map((f) => f.path).some((p) => p.endsWith("audit.jsonl"))).toBe(true);
      expect(written.map((f) => f.path).some((p) => p.endsWith(".prom"))).toBe(true);
      const outputs = [
        ...runs.flatMap((r, i) => [
          { where: `run ${i} stdout`, text: r.stdout },
          { where: `run ${i} stderr`, text: r.stderr },
        ]),
        ...written.map((f) => ({ where: f.path, text: f.text })),
        ...sink.requests.map((r, i) => ({ where: `alert body ${i}`, text: r.body })),
      ];
      for (const secret of [...Object.values(SECRETS), LITERAL_TOKEN]) {
        expect(outputs.filter((o) => o.text.includes(secret)).map((o) => `${secret} in ${o.where}`)).toEqual([]);
      }
      // A remote reply never drives the terminal: no control character reaches stdout or stderr.
      // eslint-disable-next-line no-control-regex -- the control characters are what is looked for
      expect(runs.flatMap((r, i) => (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(r.stdout + r.stderr) ? [i] : []))).toEqual([]);
    },
    RUNS_BUDGET_MS,
  );
});

describe("${VAR} values that are configuration, not secrets", () => {
  it("an address from ${VAR} (a pinned static entry) stays visible in the result and the sealed audit record", async () => {
    const pinned = await startHaproxy({ kind: "map", entries: [] });
    try {
      const path = join(pinned.dir, "pinned.yaml");
      const document = configDocument({ staticEntries: ["${PINNED}", "127.0.0.32/32"], sockets: [pinned.unixTarget], map: pinned.listFile });
      await writeFile(path, stringify(document));
      const env = { PINNED: "127.0.0.31/32" };
      const sync = await runCli(["--config", path, "--output", "json", "sync"], { env });
      expect(sync.code).toBe(0);
      expect(await liveEntries(pinned)).toEqual(expect.arrayContaining(["127.0.0.31/32 travis"]));
      const result = JSON.parse(sync.stdout) as { instances: Array<{ add: string[] }> };
      expect(result.instances[0]?.add).toEqual(["127.0.0.31/32", "127.0.0.32/32"]);
      const audit = (await readFile(join(pinned.dir, "audit.jsonl"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { event: string; instances: Array<{ add: string[] }> });
      expect(audit.find((r) => r.event === "applied")?.instances[0]?.add).toEqual(["127.0.0.31/32", "127.0.0.32/32"]);
      expect(sync.stdout + sync.stderr).not.toContain("***");
    } finally {
      await pinned.stop();
    }
  }, 30_000);
});

describe("an invalid config", () => {
  it("never prints a ${VAR} value in its error messages (a duplicate source name made from ${SRCNAME})", async () => {
    const dir = await tempDir("ta-secrets-");
    try {
      const path = join(dir.path, "invalid.yaml");
      await writeFile(
        path,
        stringify({
          sources: [
            { name: "${SRCNAME}", type: "static", entries: ["127.0.0.31/32"] },
            { name: "${SRCNAME}", type: "static", entries: ["127.0.0.32/32"] },
          ],
          haproxy: { sockets: ["unix:///run/haproxy/admin.sock"], map: "/etc/haproxy/travis.map" },
        }),
      );
      const check = await runCli(["--config", path, "config", "check"], { env: { SRCNAME: "srcname-secret-4e2a" } });
      expect(check.code).toBe(64);
      // Not on a terminal, the error is a JSON log line.
      expect(logLines(check.stderr).map((l) => (l.err as { message: string }).message)).toEqual([expect.stringContaining('duplicate source name "***"')]);
      expect(check.stdout + check.stderr).not.toContain("srcname-secret-4e2a");
    } finally {
      await dir.remove();
    }
  });
});

describe("literal credentials in the config", () => {
  it("header values, URL passwords and token-like URL parts echoed by a failing sink appear in no output or file; plain words stay; URL credentials arrive as Basic auth", async () => {
    const literal = {
      header: "literalheadertokenZZZ",
      password: "Pw-literal-9f2",
      pathToken: "T0AAAA9x",
      queryToken: "Lq7literalquery",
      feedPassword: "feed-Pw-7c1e",
    };
    const basic = Buffer.from(`sinkuser:${literal.password}`).toString("base64");
    const feedBasic = `Basic ${Buffer.from(`reader:${literal.feedPassword}`).toString("base64")}`;
    const guardedFeed = await startReceiver([401], (req, res) => {
      if (req.headers.authorization !== feedBasic) return false;
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("127.0.0.41\n");
    });
    const echo = await startReceiver([200], (req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`denied ${req.path} authorization=${String(req.headers.authorization)} key=${String(req.headers["x-api-key"])}`);
    });
    const own = await startHaproxy({ kind: "map", entries: [] });
    try {
      const path = join(own.dir, "literal.yaml");
      const document = configDocument({ sockets: [own.unixTarget], map: own.listFile });
      await writeFile(
        path,
        stringify({
          ...document,
          sources: [{ name: "feed", type: "http", url: `http://reader:${literal.feedPassword}@${guardedFeed.url.slice(7)}/ips`, format: "lines" }],
          alerts: {
            on: ["changed"],
            sinks: [
              {
                type: "webhook",
                url: `http://sinkuser:${literal.password}@${echo.url.slice(7)}/hook/${literal.pathToken}/plainpath?token=${literal.queryToken}&format=json`,
                headers: { "X-Api-Key": literal.header },
                timeoutMs: 2000,
              },
            ],
          },
        }),
      );
      const runs = [await runCli(["--config", path, "sync"]), await runCli(["--config", path, "--output", "json", "audit", "show"])];
      expect(runs.map((r) => r.code)).toEqual([0, 0]);
      expect(await liveEntries(own)).toEqual(["127.0.0.41/32 travis"]);
      expect(echo.requests[0]?.headers).toMatchObject({ authorization: `Basic ${basic}`, "x-api-key": literal.header });
      // The sink's echo is shown, with only the hidden parts masked.
      expect(runs[0]?.stdout).toContain("Alert not delivered: ");
      expect(runs[0]?.stdout).toContain("denied /hook/***/plainpath?token=***&format=json");
      expect(runs[0]?.stdout).toContain("authorization=Basic *** key=***");
      const written = await Promise.all((await filesBelow(own.dir)).map((f) => readFile(f, "utf8")));
      const seen = [...runs.flatMap((r) => [r.stdout, r.stderr]), ...written].join("\n");
      expect(Object.values(literal).filter((s) => seen.includes(s))).toEqual([]);
      expect(seen).not.toContain(basic);
    } finally {
      await Promise.all([guardedFeed.stop(), echo.stop(), own.stop()]);
    }
  }, 30_000);
});
