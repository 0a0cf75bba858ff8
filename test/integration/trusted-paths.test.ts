import { chmod, chown, lchown, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { type ShownRun } from "../../src/cli/render/run.js";
import { runDeps } from "../../src/cli/wiring.js";
import { parseConfig } from "../../src/config/parse.js";
import type { Config } from "../../src/config/schema.js";
import { sha256 } from "../../src/util/canonical.js";
import { acquireLock } from "../../src/util/lock.js";
import { Scrubber } from "../../src/util/secrets.js";
import { assertSafeSymlink, assertTrustedPath } from "../../src/util/trusted-path.js";
import { NOBODY } from "../support/cli.js";
import { configDocument, testConfig } from "../support/config.js";
import { liveEntries, type RunningHaproxy } from "../support/haproxy.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { syncOnce } from "../support/reconcile.js";
import { cleanUpAfterEach } from "../support/cleanups.js";

/** Only root can give a file to another user: elsewhere these cases cannot be set up. */
const ROOT = process.getuid?.() === 0;

const cleanUp = cleanUpAfterEach();
const dir = () => cleanUp.dir("ta-trusted-");
const haproxy = (options?: Parameters<typeof cleanUp.haproxy>[0]) => cleanUp.haproxy(options);

/** A feed that answers every conditional request 304 and would otherwise serve 127.0.0.21. */
async function notModifiedFeed(): Promise<HttpReceiver> {
  const feed = await startReceiver([404], (req, res) => {
    if (req.headers["if-none-match"]) {
      res.writeHead(304);
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "text/plain", etag: '"v1"' });
    res.end("127.0.0.21\n");
  });
  cleanUp.later(() => feed.stop());
  return feed;
}

function feedConfig(h: RunningHaproxy, state: string, feed: HttpReceiver): Config {
  const base = testConfig({ staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: h.listFile, auditPath: join(state, "audit.jsonl") });
  return { ...base, sources: [{ name: "feed", type: "http", url: `${feed.url}/list`, format: "lines", timeoutMs: 5000, maxBytes: 10_000 }] };
}

/** A cached body for the feed's URL, as the tool would have written it, saying 127.0.0.66. */
async function plantCache(cacheDir: string, feed: HttpReceiver): Promise<void> {
  const file = join(cacheDir, `${sha256(`${feed.url}/list`).slice("sha256:".length, "sha256:".length + 32)}.json`);
  await writeFile(file, JSON.stringify({ url: `${feed.url}/list`, body: "127.0.0.66\n", savedAt: "2026-01-01T00:00:00.000Z", etag: '"v1"' }));
}

describe.skipIf(!ROOT)("state and cache paths another user could have written are refused (run as root)", () => {
  it("the planted cache body is what a 304 would use: with a state directory of the tool's own, 127.0.0.66 is desired", async () => {
    const h = await haproxy();
    const state = await dir();
    const feed = await notModifiedFeed();
    await mkdir(join(state, "http-cache"), { mode: 0o700 });
    await plantCache(join(state, "http-cache"), feed);
    const dry = await syncOnce(feedConfig(h, state, feed), { dryRun: true });
    expect(dry.instances[0]?.add).toEqual(["127.0.0.66/32"]);
  });

  it("a state directory owned by nobody: the planted body and a 304 add nothing, dry run or not, and HAProxy is unchanged", async () => {
    const h = await haproxy();
    const state = await dir();
    const feed = await notModifiedFeed();
    await mkdir(join(state, "http-cache"), { mode: 0o700 });
    await plantCache(join(state, "http-cache"), feed);
    await chown(state, NOBODY, NOBODY);
    const config = feedConfig(h, state, feed);

    const dry = await syncOnce(config, { dryRun: true });
    expect(dry.sources[0]).toMatchObject({ status: "failed", errorCode: "E_STATE_DIR" });
    expect(dry.sources[0]?.error).toContain(`the state directory ${state} belongs to another user (owner uid ${NOBODY} (nobody)`);
    expect(dry.sources[0]?.error).toContain("mode 0700");
    expect(dry.sources[0]?.error).toContain(`chown ${process.getuid?.()} ${state}`);
    expect(dry.instances.flatMap((i) => i.add)).toEqual([]);

    const real = await syncOnce(config);
    expect(real).toMatchObject({ exitCode: 1, error: { code: "E_STATE_DIR" } });
    expect(await liveEntries(h)).toEqual(["127.0.0.5 office"]);
  });

  it("http-cache a symlink to another user's directory holding the planted body: refused as a symlink, nothing added", async () => {
    const h = await haproxy();
    const state = await dir();
    const theirs = await dir();
    const feed = await notModifiedFeed();
    await plantCache(theirs, feed);
    await chown(theirs, NOBODY, NOBODY);
    await symlink(theirs, join(state, "http-cache"));

    const dry = await syncOnce(feedConfig(h, state, feed), { dryRun: true });
    expect(dry.sources[0]).toMatchObject({ status: "failed", errorCode: "E_STATE_DIR" });
    expect(dry.sources[0]?.error).toContain(`the feed cache directory ${join(state, "http-cache")} is a symlink`);
    expect(dry.instances.flatMap((i) => i.add)).toEqual([]);
    expect(await liveEntries(h)).toEqual(["127.0.0.5 office"]);
  });

  it("a directory on the way that others may write (not sticky) is refused by name; a sticky one such as /tmp is not", async () => {
    const h = await haproxy();
    const parent = await dir();
    const state = join(parent, "state");
    await mkdir(state, { mode: 0o700 });
    const config = testConfig({ staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: h.listFile, auditPath: join(state, "audit.jsonl") });
    await chmod(parent, 0o777);
    const refused = await syncOnce(config);
    expect(refused).toMatchObject({ exitCode: 1, error: { code: "E_STATE_DIR", message: expect.stringContaining(`${parent}, on the way to`) } });
    expect(refused.error?.message).toContain(`chmod o-w ${parent}`);
    expect(await liveEntries(h)).toEqual(["127.0.0.5 office"]);

    await chmod(parent, 0o1777);
    expect(await syncOnce(config)).toMatchObject({ exitCode: 0, instances: [{ status: "applied" }] });
  });

  it("group-writable by the process's own group (an fsGroup volume) is accepted; by a group it is not in, refused", async () => {
    const h = await haproxy();
    const state = await dir();
    const config = testConfig({ staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: h.listFile, auditPath: join(state, "audit.jsonl") });
    const ownGroup = process.getegid?.() ?? 0;
    await chown(state, 0, ownGroup);
    await chmod(state, 0o2770);
    expect(await syncOnce(config)).toMatchObject({ exitCode: 0, instances: [{ status: "applied", add: ["127.0.0.21/32"] }] });

    const foreignGroup = NOBODY;
    expect(process.getgroups?.()).not.toContain(foreignGroup);
    await chown(state, 0, foreignGroup);
    const refused = await syncOnce({ ...config, sources: [{ name: "pinned", type: "static", entries: ["127.0.0.22"] }] });
    expect(refused).toMatchObject({ exitCode: 1, error: { code: "E_STATE_DIR", message: expect.stringContaining(`is writable by group ${foreignGroup}`) } });
    expect((await liveEntries(h)).sort()).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
  });

  it("an audit trail in a world-writable directory apart from the state directory: nothing applied, E_STATE_DIR", async () => {
    const h = await haproxy();
    const state = await dir();
    const auditDir = await dir();
    await chmod(auditDir, 0o777);
    const config = {
      ...testConfig({ staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: h.listFile, auditPath: join(auditDir, "audit.jsonl") }),
      stateDir: state,
    };
    const result = await syncOnce(config);
    expect(result).toMatchObject({ exitCode: 1, error: { code: "E_STATE_DIR", message: expect.stringContaining(`chmod o-w ${auditDir}`) } });
    expect(await liveEntries(h)).toEqual(["127.0.0.5 office"]);
  });
});

describe.skipIf(!ROOT)("persist through a symlink at the map path (run as root)", () => {
  it("a nobody-owned link in a 0777 directory to a root file: the commit stays in memory, the instance fails E_PERSIST_UNSAFE, the root file is untouched", async () => {
    const d = await dir();
    const maps = join(d, "maps");
    await mkdir(maps, { mode: 0o755 });
    const rootFile = join(d, "root-owned.conf");
    await writeFile(rootFile, "127.0.0.5 office\n", { mode: 0o644 });
    const link = join(maps, "travis.map");
    await symlink(rootFile, link);
    const h = await haproxy({ dir: d, listFile: link, keepListFile: true });
    await chmod(maps, 0o777);
    await lchown(link, NOBODY, NOBODY);
    const base = testConfig({ staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: link, auditPath: join(d, "state", "audit.jsonl") });

    const result = await syncOnce({ ...base, haproxy: { ...base.haproxy, persist: true } });
    expect(result.exitCode).toBe(1);
    expect(result.instances[0]).toMatchObject({ status: "failed", errorCode: "E_PERSIST_UNSAFE" });
    expect(result.instances[0]?.state).toContain("changed in memory");
    expect(result.instances[0]?.error).toContain(`the map file ${link} is a symlink that belongs to another user (owner uid ${NOBODY} (nobody)`);
    expect(await readFile(rootFile, "utf8")).toBe("127.0.0.5 office\n");
    expect((await readdir(d)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect((await liveEntries(h)).sort()).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
  });

  it("a root-owned link in a 0777 directory is refused as well: the directory lets anyone swap it", async () => {
    const d = await dir();
    const maps = join(d, "maps");
    await mkdir(maps, { mode: 0o755 });
    const rootFile = join(d, "root-owned.conf");
    await writeFile(rootFile, "127.0.0.5 office\n", { mode: 0o644 });
    const link = join(maps, "travis.map");
    await symlink(rootFile, link);
    const h = await haproxy({ dir: d, listFile: link, keepListFile: true });
    await chmod(maps, 0o777);
    const base = testConfig({ staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: link, auditPath: join(d, "state", "audit.jsonl") });

    const result = await syncOnce({ ...base, haproxy: { ...base.haproxy, persist: true } });
    expect(result.instances[0]).toMatchObject({ status: "failed", errorCode: "E_PERSIST_UNSAFE" });
    expect(result.instances[0]?.error).toContain(`${maps}, on the way to the map file ${link}, is writable by other users`);
    expect(await readFile(rootFile, "utf8")).toBe("127.0.0.5 office\n");
  });
});

describe("source names from ${VAR} in the state files", () => {
  const SECRETS = { SOURCE_NAME: "srcname-8e41b7c2", FEED_NAME: "feedname-5a90d3e1" };

  async function runWith(h: RunningHaproxy, state: string, feed: HttpReceiver, sink: HttpReceiver, entries: string[]): Promise<ShownRun> {
    const document = configDocument({
      sockets: [h.unixTarget],
      map: h.listFile,
      auditPath: join(state, "audit.jsonl"),
      extra: { guards: { removeAfter: "1h" } },
    });
    const sources = [
      { name: "${SOURCE_NAME}", type: "static", entries },
      { name: "${FEED_NAME}", type: "http", url: `${feed.url}/list`, format: "lines" },
    ];
    const alerts = { on: ["failed", "changed"], sinks: [{ type: "webhook", url: `${sink.url}/hook` }] };
    const parsed = parseConfig(JSON.stringify({ ...document, sources, alerts }), SECRETS);
    if (!parsed.config || !parsed.file) throw new Error(JSON.stringify(parsed.issues));
    const scrubber = new Scrubber(parsed.secrets ?? []);
    return syncOnce(parsed.config, {}, await runDeps(parsed.config, parsed.file, pino({ level: "silent" }), scrubber, {}, true));
  }

  it("are in no state file, and still count as configured: an entry one no longer gives waits out its grace period", async () => {
    const h = await haproxy();
    const state = await dir();
    const feed = await startReceiver([200, 200, 500], (req, res) => {
      if (feed.requests.length > 2) return false;
      res.writeHead(200, { "content-type": "text/plain", etag: `"v${feed.requests.length}"` });
      res.end("127.0.0.31\n");
    });
    const sink = await startReceiver([200]);
    cleanUp.later(() => feed.stop());
    cleanUp.later(() => sink.stop());

    expect(await runWith(h, state, feed, sink, ["127.0.0.21", "127.0.0.22"])).toMatchObject({ exitCode: 0 });
    const second = await runWith(h, state, feed, sink, ["127.0.0.21"]);
    expect(second.instances[0]).toMatchObject({ remove: [], pendingRemoval: [{ entry: "127.0.0.22/32" }] });
    // The feed fails: the alert state now remembers a failure that names its source.
    expect(await runWith(h, state, feed, sink, ["127.0.0.21"])).toMatchObject({ exitCode: 1 });

    const files = (await readdir(state, { recursive: true, withFileTypes: true })).filter((f) => f.isFile()).map((f) => join(f.parentPath, f.name));
    expect(files.map((f) => f.slice(state.length + 1))).toEqual(
      expect.arrayContaining(["alert-state.json", expect.stringMatching(/^removal-state-/), expect.stringMatching(/^http-cache\//)]),
    );
    for (const file of files) {
      const text = await readFile(file, "utf8");
      for (const secret of Object.values(SECRETS)) expect([file, text.includes(secret)]).toEqual([file, false]);
    }
    expect(await readFile(join(state, "alert-state.json"), "utf8")).toContain("***");
  });
});

describe.skipIf(!ROOT)("lock files, links on the way, and what a persisted link points to (run as root)", () => {
  const lockOptions = { timeoutMs: 0, staleMs: 60_000, busy: { code: "E_RUN_LOCK" as const, what: "the test lock" } };

  it("a lock file planted as a symlink is refused, and what it points to is left alone", async () => {
    const d = await dir();
    const victim = join(d, "victim");
    await writeFile(victim, "precious\n");
    await symlink(victim, join(d, "test.lock"));
    await expect(acquireLock(join(d, "test.lock"), lockOptions)).rejects.toMatchObject({
      code: "E_STATE_DIR",
      message: expect.stringContaining("is a symlink"),
    });
    expect(await readFile(victim, "utf8")).toBe("precious\n");
  });

  it("a lock in a directory owned by another user is refused before it is created", async () => {
    const d = await dir();
    await chown(d, NOBODY, NOBODY);
    await expect(acquireLock(join(d, "test.lock"), lockOptions)).rejects.toMatchObject({ code: "E_STATE_DIR" });
    expect(await readdir(d)).toEqual([]);
  });

  it("a link on the way to the state directory counts by who made it: root's passes (as /var/run does), nobody's is refused", async () => {
    const d = await dir();
    await mkdir(join(d, "real", "state"), { recursive: true, mode: 0o700 });
    await symlink(join(d, "real"), join(d, "via"));
    await expect(assertTrustedPath(join(d, "via", "state"), "the state directory")).resolves.toBeUndefined();
    await lchown(join(d, "via"), NOBODY, NOBODY);
    await expect(assertTrustedPath(join(d, "via", "state"), "the state directory")).rejects.toMatchObject({
      code: "E_STATE_DIR",
      message: expect.stringContaining(`${join(d, "via")}, on the way to the state directory`),
    });
  });

  it("persist's link: a target owned by another user, or in a directory others may write, is refused; root's own in private directories passes", async () => {
    const d = await dir();
    await mkdir(join(d, "maps"), { mode: 0o755 });
    const target = join(d, "maps", "travis.map.real");
    await writeFile(target, "");
    const link = join(d, "travis.map");
    await symlink(target, link);
    await expect(assertSafeSymlink(link)).resolves.toBeUndefined();
    await chown(target, NOBODY, NOBODY);
    await expect(assertSafeSymlink(link)).rejects.toMatchObject({
      code: "E_PERSIST_UNSAFE",
      message: expect.stringContaining(`${target}, on the way to the map file ${link}, belongs to another user`),
    });
    await chown(target, 0, 0);
    await chmod(join(d, "maps"), 0o777);
    await expect(assertSafeSymlink(link)).rejects.toMatchObject({ code: "E_PERSIST_UNSAFE", message: expect.stringContaining(`chmod o-w ${join(d, "maps")}`) });
  });
});
