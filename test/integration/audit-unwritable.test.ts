import { spawnSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AuditTrail } from "../../src/audit/trail.js";
import { auditBodyFixture } from "../support/audit.js";
import { tempDir, tempDirSync } from "../support/tmp.js";

const ROOT = process.getuid?.() === 0;
const run = (command: string, args: string[]) => spawnSync(command, args, { encoding: "utf8" });

/** Whether this machine lets root make a directory immutable here (ext4 and xfs do; tmpfs and overlayfs may not). */
function chattrWorks(): boolean {
  if (!ROOT) return false;
  const probe = tempDirSync("ta-chattr-");
  const works = run("chattr", ["+i", probe.path]).status === 0;
  run("chattr", ["-i", probe.path]);
  void probe.remove();
  return works;
}

/** Whether root may mount a read-only tmpfs here (a container without CAP_SYS_ADMIN may not). */
function mountWorks(): boolean {
  if (!ROOT) return false;
  const probe = tempDirSync("ta-mount-");
  const works = run("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", probe.path]).status === 0;
  if (works) run("umount", [probe.path]);
  void probe.remove();
  return works;
}

const CHATTR = chattrWorks();
const MOUNT = mountWorks();
const undo: Array<() => void> = [];
afterEach(() => {
  for (const step of undo.splice(0).reverse()) step();
});

async function trailDir(): Promise<string> {
  const t = await tempDir("ta-audit-unwritable-");
  const dir = join(t.path, "audit");
  await mkdir(dir);
  return dir;
}

function immutable(path: string): void {
  expect(run("chattr", ["+i", path]).status).toBe(0);
  undo.push(() => run("chattr", ["-i", path]));
}

describe("an audit trail that root cannot write says why, and never advises a chown", () => {
  it.skipIf(!CHATTR)("an immutable directory (chattr +i): E_AUDIT_WRITE, EPERM, immutable or append-only named", async () => {
    const dir = await trailDir();
    immutable(dir);
    const failure = await new AuditTrail(join(dir, "audit.jsonl")).append(auditBodyFixture()).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: "E_AUDIT_WRITE" });
    const { message } = failure as Error;
    expect(message).toContain(`${dir}: operation not permitted (EPERM; user root, uid 0); even root may not change it`);
    expect(message).toContain(`immutable or append-only (chattr +i or +a; lsattr -d ${dir} shows it)`);
    expect(message).toContain("a chown cannot help");
    expect(message).not.toMatch(/chown -R|chown \d/);
  });

  it.skipIf(!CHATTR)("an immutable trail file in a writable directory: the same explanation, and the trail is left as it was", async () => {
    const dir = await trailDir();
    const trail = new AuditTrail(join(dir, "audit.jsonl"));
    await trail.append(auditBodyFixture());
    immutable(trail.path);
    await expect(trail.append(auditBodyFixture())).rejects.toMatchObject({
      code: "E_AUDIT_WRITE",
      message: expect.stringMatching(/cannot write: .*operation not permitted \(EPERM; user root, uid 0\).*immutable or append-only/),
    });
    expect(await trail.verify()).toMatchObject({ ok: true, records: 1 });
  });

  it.skipIf(!CHATTR)("a head one behind that cannot be caught up: nothing appended, so the head never falls two behind", async () => {
    const dir = await trailDir();
    const trail = new AuditTrail(join(dir, "audit.jsonl"));
    await trail.append(auditBodyFixture({ runId: "a" }));
    const behind = await readFile(trail.headPath, "utf8");
    await trail.append(auditBodyFixture({ runId: "b" }));
    // As a run killed between its append and the head's move leaves it.
    await writeFile(trail.headPath, behind);
    immutable(trail.headPath);
    await expect(trail.append(auditBodyFixture({ runId: "c" }))).rejects.toMatchObject({ code: "E_AUDIT_WRITE" });
    expect((await readFile(trail.path, "utf8")).trim().split("\n")).toHaveLength(2);
    for (const step of undo.splice(0).reverse()) step();
    await expect(trail.append(auditBodyFixture({ runId: "c" }))).resolves.toMatchObject({ seq: 3 });
    expect(await trail.verify()).toMatchObject({ ok: true, records: 3 });
  });

  it.skipIf(!MOUNT)("a read-only file system (tmpfs mounted ro): E_AUDIT_WRITE, EROFS named, no owner or mode can help", async () => {
    const dir = await trailDir();
    expect(run("mount", ["-t", "tmpfs", "-o", "ro,size=1m,mode=0700", "tmpfs", dir]).status).toBe(0);
    undo.push(() => run("umount", [dir]));
    const failure = await new AuditTrail(join(dir, "audit.jsonl")).append(auditBodyFixture()).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: "E_AUDIT_WRITE" });
    const { message } = failure as Error;
    expect(message).toContain(`${dir}: the file system is read-only (EROFS; user root, uid 0): no owner or mode can make it writable`);
    expect(message).not.toContain("chown");
  });
});
