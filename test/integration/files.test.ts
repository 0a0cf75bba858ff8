import { execFile } from "node:child_process";
import { chmod, lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { inspect } from "../../src/reconcile/status.js";
import { shownStatus } from "../../src/cli/render/run.js";
import { absenceStatePath } from "../../src/state/absence-store.js";
import { writeFileAtomic } from "../../src/util/atomic.js";
import { childEnv, CLI } from "../support/cli.js";
import { configDocument, testConfig } from "../support/config.js";
import { liveEntries } from "../support/haproxy.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { realDeps, syncOnce } from "../support/reconcile.js";
import { cleanUpAfterEach } from "../support/cleanups.js";

const cleanUp = cleanUpAfterEach();
const dir = () => cleanUp.dir("ta-files-");
const haproxy = (options?: Parameters<typeof cleanUp.haproxy>[0]) => cleanUp.haproxy(options);

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe("files the tool writes", () => {
  it("under umask 000, directories it creates are 0700 and its files 0600", async () => {
    const h = await haproxy();
    const feed: HttpReceiver = await startReceiver([404], (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", etag: '"v1"' });
      res.end("127.0.0.21\n");
    });
    cleanUp.later(() => feed.stop());
    const state = join(h.dir, "new", "state");
    const path = join(h.dir, "travis-allowlist.yaml");
    const document = configDocument({ sockets: [h.unixTarget], map: h.listFile, auditPath: join(state, "audit.jsonl") });
    await writeFile(path, stringify({ ...document, sources: [{ name: "feed", type: "http", url: `${feed.url}/list`, format: "lines" }] }));
    const code = await new Promise<number>((resolve) =>
      execFile("sh", ["-c", `umask 000; exec "${process.execPath}" "${CLI}" --config "${path}" sync`], { env: childEnv() }, (err) =>
        resolve(err ? Number(err.code) : 0),
      ),
    );
    expect(code).toBe(0);
    expect(await liveEntries(h)).toContain("127.0.0.21/32 travis");
    expect(await mode(state)).toBe(0o700);
    expect(await mode(join(state, "http-cache"))).toBe(0o700);
    const files = [
      join(state, "audit.jsonl"),
      join(state, "audit.jsonl.head"),
      absenceStatePath(state, h.listFile),
      ...(await readdir(join(state, "http-cache"))).map((f) => join(state, "http-cache", f)),
    ];
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) expect([file, await mode(file)]).toEqual([file, 0o600]);
  });

  it("a state directory other users can write to is refused, naming the fix, and nothing changes; a dry run and status do not trust it either", async () => {
    const h = await haproxy();
    const state = await dir();
    await chmod(state, 0o777);
    const config = testConfig({ staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: h.listFile, auditPath: join(state, "audit.jsonl") });
    const refused = { exitCode: 1, error: { code: "E_STATE_DIR", message: expect.stringContaining(`chmod o-w ${state}`) } };
    expect(await syncOnce(config)).toMatchObject(refused);
    expect(await syncOnce(config, { dryRun: true })).toMatchObject(refused);
    expect(shownStatus(await inspect(config, realDeps(config)), { detailedExitcode: true })).toMatchObject(refused);
    expect(await liveEntries(h)).toEqual(["127.0.0.5 office"]);
  });

  it("a feed cache directory other users can write to is not trusted: a planted body and a 304 add nothing", async () => {
    const h = await haproxy();
    const state = await dir();
    const feed: HttpReceiver = await startReceiver([404], (_req, res) => {
      res.writeHead(304);
      res.end();
    });
    cleanUp.later(() => feed.stop());
    const base = testConfig({ staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: h.listFile, auditPath: join(state, "audit.jsonl") });
    const config = {
      ...base,
      sources: [{ name: "feed", type: "http" as const, url: `${feed.url}/list`, format: "lines" as const, timeoutMs: 2000, maxBytes: 1000 }],
    };
    await mkdir(join(state, "http-cache"), { mode: 0o777 });
    await chmod(join(state, "http-cache"), 0o777);
    const { sha256 } = await import("../../src/util/canonical.js");
    const planted = join(state, "http-cache", `${sha256(`${feed.url}/list`).slice(7, 39)}.json`);
    await writeFile(planted, JSON.stringify({ url: "x", body: "127.0.0.66\n", savedAt: new Date().toISOString(), etag: '"v1"' }));
    const result = await syncOnce(config);
    expect(result.exitCode).toBe(1);
    expect(result.sources[0]).toMatchObject({ status: "failed", errorCode: "E_STATE_DIR" });
    expect(await liveEntries(h)).toEqual(["127.0.0.5 office"]);
  });

  it("a symlink planted where a state file goes is replaced, never written through", async () => {
    const d = await dir();
    const victim = join(d, "victim");
    await writeFile(victim, "precious\n");
    await symlink(victim, join(d, "state.json"));
    await writeFileAtomic(join(d, "state.json"), "{}\n");
    expect(await readFile(victim, "utf8")).toBe("precious\n");
    expect((await lstat(join(d, "state.json"))).isSymbolicLink()).toBe(false);
  });

  it("persist writes through a symlinked map path to its target, once per path when instances share it", async () => {
    const d = await dir();
    const real = join(d, "maps", "travis.map.real");
    await mkdir(join(d, "maps"));
    await writeFile(real, "127.0.0.5 office\n");
    await chmod(real, 0o644);
    const link = join(d, "travis.map");
    await symlink(real, link);
    const first = await haproxy({ dir: d, listFile: link, keepListFile: true, socketName: "a.sock" });
    const second = await haproxy({ dir: d, listFile: link, keepListFile: true, socketName: "b.sock" });
    const base = testConfig({ staticEntries: ["127.0.0.21"], sockets: [first.unixTarget, second.unixTarget], map: link, auditPath: join(d, "audit.jsonl") });
    const result = await syncOnce({ ...base, haproxy: { ...base.haproxy, persist: true } });
    expect(result.instances.map((i) => i.status)).toEqual(["applied", "applied"]);
    expect(await readlink(link)).toBe(real);
    expect((await readFile(real, "utf8")).split("\n").sort()).toEqual(["", "127.0.0.21/32 travis", "127.0.0.5 office"]);
    expect(await mode(real)).toBe(0o644);
    expect((await readdir(join(d, "maps"))).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});
