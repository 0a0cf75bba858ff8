import { execFile } from "node:child_process";
import { mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { AuditTrail } from "../../src/audit/trail.js";
import { sealRecord, serialise } from "../../src/audit/record.js";
import { auditBodyFixture, chainWithSecond, MALFORMED, READABLE } from "../support/audit.js";
import { cleanUpAfterEach } from "../support/cleanups.js";
import { tempDir } from "../support/tmp.js";

const DIST_TRAIL = fileURLToPath(new URL("../../dist/audit/trail.js", import.meta.url));
const cleanUp = cleanUpAfterEach();
const dir = () => cleanUp.dir("ta-audit-");

function appendInChild(path: string, writer: string, count: number): Promise<void> {
  const script = `
    const { AuditTrail } = await import(${JSON.stringify(DIST_TRAIL)});
    const trail = new AuditTrail(${JSON.stringify(path)});
    const body = JSON.parse(process.env.BODY);
    for (let i = 0; i < ${count}; i++) await trail.append({ ...body, runId: ${JSON.stringify(writer)} + "-" + i });
  `;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", script],
      { env: { ...process.env, BODY: JSON.stringify(auditBodyFixture()) } },
      (err, _out, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve()),
    );
  });
}

describe("AuditTrail on disk", () => {
  it("creates its directory, appends a chain and keeps the head in step", async () => {
    const path = join(await dir(), "nested", "audit.jsonl");
    const trail = new AuditTrail(path);
    const first = await trail.append(auditBodyFixture({ runId: "a" }));
    const second = await trail.append(auditBodyFixture({ runId: "b" }));
    expect(second.prevHash).toBe(first.hash);
    expect(JSON.parse(await readFile(`${path}.head`, "utf8"))).toEqual({ seq: 2, hash: second.hash });
    expect(await trail.last()).toEqual(second);
    expect(await trail.verify()).toMatchObject({ ok: true, records: 2 });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("finds the last record of a long trail without reading it all", async () => {
    const path = join(await dir(), "audit.jsonl");
    const trail = new AuditTrail(path);
    const big = auditBodyFixture({
      instances: [{ ...auditBodyFixture().instances[0]!, add: Array.from({ length: 20_000 }, (_, i) => `34.${i >> 8}.${i & 255}.0/24`) }],
    });
    await trail.append(big);
    const last = await trail.append(auditBodyFixture({ runId: "tail" }));
    expect((await trail.last())?.hash).toBe(last.hash);
  });

  it.each([1, 100_000])("finds a last record that spans many read chunks (%i entries), with multi-byte text across chunk edges", async (count) => {
    const path = join(await dir(), "audit.jsonl");
    const trail = new AuditTrail(path);
    await trail.append(auditBodyFixture({ runId: "first" }));
    const add = Array.from({ length: count }, (_, i) => `34.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`);
    const last = await trail.append(
      auditBodyFixture({ runId: "läst-ünïcode", stateNotice: "é".repeat(70_000), instances: [{ ...auditBodyFixture().instances[0]!, add }] }),
    );
    expect(await trail.last()).toEqual(last);
  });

  it("two processes writing at once never break the chain", async () => {
    const path = join(await dir(), "audit.jsonl");
    await Promise.all([appendInChild(path, "w1", 25), appendInChild(path, "w2", 25), appendInChild(path, "w3", 25)]);
    const verdict = await new AuditTrail(path).verify();
    expect(verdict).toMatchObject({ ok: true, records: 75 });
    const runIds = (await new AuditTrail(path).readAll()).map((r) => r.runId);
    expect(new Set(runIds).size).toBe(75);
  });

  it("detects tampering done on disk", async () => {
    const path = join(await dir(), "audit.jsonl");
    const trail = new AuditTrail(path);
    for (let i = 0; i < 4; i++) await trail.append(auditBodyFixture({ runId: `r${i}` }));
    const original = await readFile(path, "utf8");
    await writeFile(path, original.replace("35.192.85.2/32", "10.0.0.0/8"));
    expect(await trail.verify()).toMatchObject({ ok: false, line: 1, reason: expect.stringContaining("edited") });
    const lines = original.split("\n");
    await writeFile(path, `${lines.slice(0, 3).join("\n")}\n`);
    expect(await trail.verify()).toMatchObject({ ok: false, reason: expect.stringContaining("removed from the end") });
  });

  it.each(MALFORMED)("a sealed record with %s: verify names it, readAll skips it, and it cannot be extended", async (_name, edit, path) => {
    const file = join(await dir(), "audit.jsonl");
    const { lines, head } = chainWithSecond(edit);
    await writeFile(`${file}.head`, `${JSON.stringify(head)}\n`);
    const trail = new AuditTrail(file);
    // As the last record, it is damage that nothing may be linked to.
    await writeFile(file, `${lines.slice(0, 2).join("\n")}\n`);
    await expect(trail.append(auditBodyFixture())).rejects.toMatchObject({ code: "E_AUDIT_CORRUPT" });
    await writeFile(file, `${lines.join("\n")}\n`);
    expect(await trail.verify()).toMatchObject({ ok: false, line: 2, reason: expect.stringContaining(`not an audit record (${path}: `) });
    expect((await trail.readAll()).map((r) => r.runId)).toEqual(["run-1", "run-3"]);
  });

  it.each(READABLE)("a record with %s reads back whole and is extended", async (_name, edit) => {
    const file = join(await dir(), "audit.jsonl");
    const { lines } = chainWithSecond(edit);
    await writeFile(file, `${lines.slice(0, 2).join("\n")}\n`);
    await writeFile(`${file}.head`, `${JSON.stringify({ seq: 2, hash: (JSON.parse(lines[1] as string) as { hash: string }).hash })}\n`);
    const trail = new AuditTrail(file);
    expect(await trail.last()).toEqual(JSON.parse(lines[1] as string));
    await trail.append(auditBodyFixture({ runId: "next" }));
    expect(await trail.verify()).toMatchObject({ ok: true, records: 3 });
    expect((await trail.readAll())[1]).toEqual(JSON.parse(lines[1] as string));
  });

  it.each([
    ["not JSON", "{afterSeq: 1"],
    ["of another shape", '{"after":1,"count":"many"}'],
    ["a count below zero", '{"afterSeq":1,"count":-5}'],
  ])("a .quiet file %s counts as no quiet runs and is rewritten by the next one", async (_name, text) => {
    const file = join(await dir(), "audit.jsonl");
    const trail = new AuditTrail(file);
    await trail.append(auditBodyFixture());
    await writeFile(`${file}.quiet`, text);
    expect(await trail.quietRuns(1)).toBe(0);
    expect(await trail.noteQuietRun(1)).toBe(1);
    expect(JSON.parse(await readFile(`${file}.quiet`, "utf8"))).toEqual({ afterSeq: 1, count: 1 });
    expect(await trail.quietRuns(1)).toBe(1);
  });

  it.each([
    [
      "its directory cannot be created",
      async (d: string) => {
        await writeFile(join(d, "file"), "");
        return join(d, "file", "audit.jsonl");
      },
      "file is not a directory",
    ],
    [
      "its directory is under /proc (where a recursive mkdir never returns)",
      () => Promise.resolve("/proc/self/travis-allowlist/audit.jsonl"),
      "cannot create its directory: ENOENT",
    ],
    [
      "the disk is full",
      async (d: string) => {
        const mountpoint = join(d, "full");
        await mkdir(mountpoint);
        const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4k,mode=0700", "tmpfs", mountpoint]);
        if (mounted.status !== 0) throw new Error(`mount failed: ${mounted.stderr.toString()}`);
        cleanUp.later(() => Promise.resolve(void spawnSync("umount", [mountpoint])));
        await writeFile(join(mountpoint, "filler"), Buffer.alloc(4096)).catch(() => undefined);
        return join(mountpoint, "audit.jsonl");
      },
      "ENOSPC",
    ],
  ])("fails with E_AUDIT_WRITE when %s", async (_name, prepare, message) => {
    const path = await prepare(await dir());
    await expect(new AuditTrail(path).append(auditBodyFixture())).rejects.toMatchObject({ code: "E_AUDIT_WRITE", message: expect.stringContaining(message) });
  });

  const canMount = process.getuid?.() === 0 && spawnSync("mount", ["--version"]).status === 0;
  it.skipIf(!canMount)("fails with E_AUDIT_WRITE on a read-only file system", async () => {
    const mountpoint = join(await dir(), "ro");
    await mkdir(mountpoint);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m,mode=0700", "tmpfs", mountpoint]);
    if (mounted.status !== 0) throw new Error(`mount failed: ${mounted.stderr.toString()}`);
    cleanUp.later(() => Promise.resolve(void spawnSync("umount", [mountpoint])));
    await expect(new AuditTrail(join(mountpoint, "audit.jsonl")).append(auditBodyFixture())).rejects.toMatchObject({
      code: "E_AUDIT_WRITE",
      message: expect.stringContaining("EROFS"),
    });
  });

  it("a stale lock from a dead process is taken over", async () => {
    const path = join(await dir(), "audit.jsonl");
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
    const { hostname } = await import("node:os");
    await writeFile(`${path}.lock`, `${dead} ${hostname()} ${Date.now()}`);
    await expect(new AuditTrail(path, { lock: { timeoutMs: 2000 } }).append(auditBodyFixture())).resolves.toMatchObject({ seq: 1 });
  });

  it("a live lock makes the writer wait, then time out with a clear error", async () => {
    const path = join(await dir(), "audit.jsonl");
    const { hostname } = await import("node:os");
    await writeFile(`${path}.lock`, `${process.pid} ${hostname()} ${Date.now()}`);
    await expect(new AuditTrail(path, { lock: { timeoutMs: 200 } }).append(auditBodyFixture())).rejects.toMatchObject({
      code: "E_AUDIT_LOCK",
      message: expect.stringMatching(new RegExp(`the audit trail is locked by pid ${process.pid} on \\S+, for \\d+ s`)),
    });
  });
});

describe("a lock left empty by a killed holder", () => {
  it("is taken over once it is a moment old", async () => {
    const t = await tempDir("ta-lock-");
    try {
      const lock = join(t.path, "x.lock");
      await writeFile(lock, "");
      const { utimes } = await import("node:fs/promises");
      const past = new Date(Date.now() - 5000);
      await utimes(lock, past, past);
      const { acquireLock } = await import("../../src/util/lock.js");
      const release = await acquireLock(lock, { timeoutMs: 1000, staleMs: 60_000, busy: { code: "E_AUDIT_LOCK", what: "the audit trail" } });
      await release();
    } finally {
      await t.remove();
    }
  });
});

describe("a keyed trail on disk", () => {
  const KEY = "a-key-from-a-kubernetes-secret";

  it("is sealed with the key, and a run holding another key, or none, cannot extend it", async () => {
    const path = join(await dir(), "audit.jsonl");
    const trail = new AuditTrail(path, { key: KEY });
    await trail.append(auditBodyFixture({ runId: "a" }));
    const second = await trail.append(auditBodyFixture({ runId: "b" }));
    expect(second.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    for (const other of [new AuditTrail(path, { key: "another-key-someone-else-holds" }), new AuditTrail(path)]) {
      await expect(other.append(auditBodyFixture({ runId: "forged" }))).rejects.toMatchObject({ code: "E_AUDIT_KEY" });
    }
    expect(await trail.verify()).toMatchObject({ ok: true, records: 2, keyedFrom: 1 });
    await expect(new AuditTrail(path).verify()).rejects.toMatchObject({
      code: "E_AUDIT_KEY_MISSING",
      message: expect.stringContaining("this trail is keyed; set audit.key"),
    });
    expect(await trail.verify({ seq: 2, hash: second.hash })).toMatchObject({ ok: true });
  });
});

describe("a symlink planted at the trail or its head", () => {
  async function realTrailElsewhere(d: string): Promise<string> {
    const real = join(d, "elsewhere", "audit.jsonl");
    const trail = new AuditTrail(real);
    await trail.append(auditBodyFixture({ runId: "a" }));
    await trail.append(auditBodyFixture({ runId: "b" }));
    return real;
  }

  it("at the trail: every read (last record, readAll, verify) and append refuses it with E_AUDIT_SYMLINK, never following it", async () => {
    const d = await dir();
    const real = await realTrailElsewhere(d);
    const path = join(d, "audit.jsonl");
    await symlink(real, path);
    const trail = new AuditTrail(path);
    const refused = { code: "E_AUDIT_SYMLINK", message: expect.stringContaining(`a symlink was found at ${path}:`) };
    await expect(trail.last()).rejects.toMatchObject(refused);
    await expect(trail.readAll()).rejects.toMatchObject(refused);
    await expect(trail.verify()).rejects.toMatchObject(refused);
    await expect(trail.append(auditBodyFixture({ runId: "c" }))).rejects.toMatchObject(refused);
    // Nothing was written through the link.
    expect((await readFile(real, "utf8")).trim().split("\n")).toHaveLength(2);
  });

  it("at the head file only: verify refuses it with E_AUDIT_SYMLINK", async () => {
    const d = await dir();
    const real = await realTrailElsewhere(d);
    const path = join(d, "audit.jsonl");
    const trail = new AuditTrail(path);
    await trail.append(auditBodyFixture({ runId: "own" }));
    await rm(`${path}.head`);
    await symlink(`${real}.head`, `${path}.head`);
    await expect(trail.verify()).rejects.toMatchObject({ code: "E_AUDIT_SYMLINK", message: expect.stringContaining(`a symlink was found at ${path}.head:`) });
  });

  it("a link to /dev/full in the trail's place fails the append before any write", async () => {
    const d = await dir();
    await symlink("/dev/full", join(d, "audit.jsonl"));
    await expect(new AuditTrail(join(d, "audit.jsonl")).append(auditBodyFixture())).rejects.toMatchObject({ code: "E_AUDIT_SYMLINK" });
  });
});

describe("an append to a trail whose end does not match its head", () => {
  const KEY = "a-key-from-a-kubernetes-secret";

  /** Three records, then all but the first cut away as `head -n 1` would. */
  async function cutTrail(key?: string): Promise<{ path: string; trail: AuditTrail; kept: string }> {
    const path = join(await dir(), "audit.jsonl");
    const trail = new AuditTrail(path, key === undefined ? {} : { key });
    for (const runId of ["a", "b", "c"]) await trail.append(auditBodyFixture({ runId }));
    const kept = `${(await readFile(path, "utf8")).split("\n")[0]}\n`;
    await writeFile(path, kept);
    return { path, trail, kept };
  }

  it.each([
    ["the head kept", () => Promise.resolve(), "the trail ends at record 1 but the head file records 3"],
    ["the head deleted", (path: string) => rm(`${path}.head`), "the head file is missing though the trail has 1 record(s)"],
    [
      "the head replaced by a symlink",
      async (path: string) => {
        await rm(`${path}.head`);
        await symlink("/dev/null", `${path}.head`);
      },
      "the head file is a symlink",
    ],
  ])("with %s, a keyed trail is refused with E_AUDIT_TAMPERED, nothing appended, and counting a quiet run is refused too", async (_name, tamper, reason) => {
    const { path, trail, kept } = await cutTrail(KEY);
    await tamper(path);
    const refused = { code: "E_AUDIT_TAMPERED", message: expect.stringContaining(reason) };
    await expect(trail.append(auditBodyFixture({ runId: "covers-the-cut" }))).rejects.toMatchObject(refused);
    await expect(trail.noteQuietRun(1)).rejects.toMatchObject(refused);
    expect(await readFile(path, "utf8")).toBe(kept);
  });

  it("a keyed trail whose head was rewritten to match the cut, without the key, is refused", async () => {
    const { path, trail, kept } = await cutTrail(KEY);
    const tip = JSON.parse(kept) as { seq: number; hash: string };
    await writeFile(`${path}.head`, `${JSON.stringify({ seq: tip.seq, hash: tip.hash })}\n`);
    await expect(trail.append(auditBodyFixture())).rejects.toMatchObject({
      code: "E_AUDIT_TAMPERED",
      message: expect.stringContaining("not sealed with audit.key though the trail is keyed"),
    });
  });

  it("an unkeyed trail cut with its head kept is refused; one whose head was rewritten to match cannot be told from an intact one", async () => {
    const { path, trail, kept } = await cutTrail();
    await expect(trail.append(auditBodyFixture())).rejects.toMatchObject({
      code: "E_AUDIT_TAMPERED",
      message: expect.stringContaining("records were removed from the end"),
    });
    const tip = JSON.parse(kept) as { seq: number; hash: string };
    await writeFile(`${path}.head`, `${JSON.stringify({ seq: tip.seq, hash: tip.hash })}\n`);
    await expect(trail.append(auditBodyFixture())).resolves.toMatchObject({ seq: 2 });
  });

  it("a head one record behind (killed between the append and the head's move) is caught up by the next append", async () => {
    const path = join(await dir(), "audit.jsonl");
    const trail = new AuditTrail(path, { key: KEY });
    await trail.append(auditBodyFixture({ runId: "a" }));
    const behind = await readFile(`${path}.head`, "utf8");
    await trail.append(auditBodyFixture({ runId: "b" }));
    await writeFile(`${path}.head`, behind);
    await expect(trail.append(auditBodyFixture({ runId: "c" }))).resolves.toMatchObject({ seq: 3 });
    expect(await trail.verify()).toMatchObject({ ok: true, records: 3 });
  });

  it("an emptied trail whose head was kept is refused; a new trail with no head starts", async () => {
    const { path, trail } = await cutTrail();
    await writeFile(path, "");
    await expect(trail.append(auditBodyFixture())).rejects.toMatchObject({
      code: "E_AUDIT_TAMPERED",
      message: expect.stringContaining("no records but the head file records #3"),
    });
    await rm(`${path}.head`);
    await expect(trail.append(auditBodyFixture())).resolves.toMatchObject({ seq: 1 });
  });
});

describe("which run used a reviewed plan", () => {
  const DIGEST = `sha256:${"ab".repeat(32)}`;
  const reviewedPlan = { digest: DIGEST, createdAt: "2026-11-26T17:50:00.000Z" };

  it("is the first intent or outcome that names its digest; a run refused before it changed anything does not count", async () => {
    const path = join(await dir(), "audit.jsonl");
    const trail = new AuditTrail(path);
    expect(await trail.reviewedPlanUse(DIGEST)).toBeUndefined();
    await trail.append(auditBodyFixture({ runId: "refused", event: "failed", reviewedPlan }));
    await trail.append(auditBodyFixture({ runId: "other-plan", event: "applied", reviewedPlan: { ...reviewedPlan, digest: `sha256:${"cd".repeat(32)}` } }));
    expect(await trail.reviewedPlanUse(DIGEST)).toBeUndefined();
    await trail.append(auditBodyFixture({ runId: "applying", event: "intent", reviewedPlan }));
    await trail.append(auditBodyFixture({ runId: "applying", event: "applied", reviewedPlan }));
    expect(await trail.reviewedPlanUse(DIGEST)).toMatchObject({ runId: "applying", event: "intent", seq: 3 });
  });

  it("is found in a trail larger than the heap a whole read would need, one line at a time", async () => {
    const path = join(await dir(), "audit.jsonl");
    const wide = sealRecord(
      auditBodyFixture({ instances: [{ ...auditBodyFixture().instances[0]!, add: Array.from({ length: 20_000 }, (_, i) => `34.${i >> 8}.${i & 255}.0/24`) }] }),
      null,
    );
    const line = serialise(wide);
    const used = serialise(sealRecord(auditBodyFixture({ runId: "applying", event: "applied", reviewedPlan }), { seq: 200, hash: wide.hash }));
    await writeFile(path, `${line.repeat(200)}${used}`);
    expect((await stat(path)).size).toBeGreaterThan(60_000_000);
    // A 32 MB heap cannot hold the trail as one string: only a lookup that reads line by line finishes.
    const lookup = (method: string) =>
      `const { AuditTrail } = await import(${JSON.stringify(DIST_TRAIL)});
       const found = await new AuditTrail(${JSON.stringify(path)}).${method};
       process.stdout.write(JSON.stringify(found?.runId ?? found?.length ?? null));`;
    const run = (method: string) =>
      spawnSync(process.execPath, ["--max-old-space-size=32", "--input-type=module", "-e", lookup(method)], { encoding: "utf8", timeout: 60_000 });
    expect(run(`reviewedPlanUse(${JSON.stringify(DIGEST)})`)).toMatchObject({ status: 0, stdout: '"applying"' });
    // The same heap is too small for a whole read: the bound is real.
    expect(run("readAll()").stderr).toContain("heap out of memory");
  }, 90_000);
});
