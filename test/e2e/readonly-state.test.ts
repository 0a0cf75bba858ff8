import { chmod, chown, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../../src/model/result.js";
import { type CliRun, cliReadableByAll, NOBODY, runCliAsNobody } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { tempDir } from "../support/tmp.js";

let h: RunningHaproxy;
let feed: HttpReceiver;
let dir: { path: string; remove: () => Promise<void> };
let cli: { cli: string; remove: () => Promise<void> };
let config: string;
let state: string;

beforeAll(async () => {
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
  // A feed with an ETag: a run would like to cache its body in the state directory.
  feed = await startReceiver([404], (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", etag: '"v1"' });
    res.end("127.0.0.21\n127.0.0.22\n");
  });
  dir = await tempDir("ta-readonly-");
  await chmod(dir.path, 0o755);
  state = join(dir.path, "state");
  await mkdir(state, { mode: 0o700 });
  await chown(state, NOBODY, NOBODY);
  config = await writeConfig(dir.path, {
    sockets: [h.tcpTarget],
    map: h.listFile,
    auditPath: join(state, "audit.jsonl"),
    extra: { sources: [{ name: "feed", type: "http", url: `${feed.url}/list`, format: "lines" }] },
  });
  await chmod(config, 0o644);
  cli = await cliReadableByAll();
});
afterAll(async () => {
  await Promise.all([h.stop(), feed.stop(), cli.remove()]);
  await dir.remove();
});

function asNobody(args: string[]): Promise<CliRun> {
  return runCliAsNobody(cli.cli, ["--config", config, ...args]);
}

async function snapshot(path: string): Promise<string[]> {
  const entries = await readdir(path, { recursive: true });
  return Promise.all(entries.sort().map(async (e) => `${e} ${(await stat(join(path, e))).mtimeMs}`));
}

async function makeReadOnly(path: string): Promise<void> {
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const inner = join(path, entry.name);
    if (entry.isDirectory()) await makeReadOnly(inner);
    else await chmod(inner, 0o400);
  }
  await chmod(path, 0o500);
}

describe("a dry run on the scheduled job's state mounted read-only", () => {
  it("plans from the real state and the feed, writes nothing, and exits as a dry run does", async () => {
    const sync = await asNobody(["--output", "json", "sync"]);
    expect(sync.code).toBe(0);
    expect((await readdir(state)).sort()).toEqual(expect.arrayContaining(["audit.jsonl", "http-cache"]));
    // An entry added behind the tool's back: the next run would remove it, and the dry run must say so.
    await h.command(`add map ${h.listFile} 127.0.0.23 travis`);
    await makeReadOnly(state);
    const before = await snapshot(state);

    const dry = await asNobody(["--output", "json", "sync", "--dry-run"]);
    expect(dry.stderr).not.toContain("E_INTERNAL");
    expect(dry.code).toBe(0);
    const result = JSON.parse(dry.stdout) as RunResult;
    expect(result.sources).toMatchObject([{ name: "feed", status: "ok", count: 2 }]);
    expect(result.instances).toMatchObject([{ status: "planned", add: [], remove: ["127.0.0.23/32"] }]);

    const status = await asNobody(["status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("127.0.0.23");
    expect(await snapshot(state)).toEqual(before);
  }, 60_000);
});
