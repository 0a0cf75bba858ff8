import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { configDocument } from "../support/config.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

/** Values only the environment knows; each must reach its own destination and nothing else. */
const SECRETS = { FEED_TOKEN: "feedtoken-3f9a1c", HOOK_TOKEN: "hooktoken-77b2e0", AUTH: "authsecret-5d4c" };

let feed: HttpReceiver;
let sink: HttpReceiver;
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
    res.end(`upstream error; you sent authorization=${String(req.headers.authorization)} to ${req.path}`);
  });
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
  const document = configDocument({ sockets: [h.unixTarget], map: h.listFile });
  config = join(h.dir, "travis-allowlist.yaml");
  await writeFile(
    config,
    stringify({
      ...document,
      // The token is the URL's single path segment, which plain URL redaction keeps.
      sources: [{ name: "feed", type: "http", url: `${feed.url}/\${FEED_TOKEN}`, format: "lines" }],
      alerts: {
        on: ["changed"],
        sinks: [{ type: "webhook", url: `${sink.url}/hook?token=\${HOOK_TOKEN}`, headers: { Authorization: "Bearer ${AUTH}" }, timeoutMs: 2000 }],
      },
      metrics: { textfile: join(h.dir, "travis-allowlist.prom") },
    }),
  );
});
afterAll(async () => {
  await Promise.all([feed.stop(), sink.stop(), h.stop()]);
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
  it("reach their own destinations and appear in no output, log, audit record, state or cache file, alert body or metric", async () => {
    const env = { ...SECRETS };
    const runs = [
      await runCli(["--config", config, "config", "check"], { env }),
      await runCli(["--config", config, "--output", "json", "sync"], { env }),
      await runCli(["--config", config, "--log-level", "debug", "sync", "--dry-run"], { env }),
      await runCli(["--config", config, "--output", "json", "resolve"], { env }),
      await runCli(["--config", config, "status"], { env }),
      await runCli(["--config", config, "--output", "json", "explain", "127.0.0.21"], { env }),
      await runCli(["--config", config, "--output", "json", "audit", "show"], { env }),
    ];
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0, 0]);

    // The destinations got them: the feed its path, the sink its query and header.
    expect(feed.requests.some((r) => r.path === `/${SECRETS.FEED_TOKEN}`)).toBe(true);
    expect(sink.requests.some((r) => r.path === `/hook?token=${SECRETS.HOOK_TOKEN}` && r.headers.authorization === `Bearer ${SECRETS.AUTH}`)).toBe(true);

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
    for (const secret of Object.values(SECRETS)) {
      expect(outputs.filter((o) => o.text.includes(secret)).map((o) => o.where)).toEqual([]);
    }
  }, 60_000);
});
