import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../../src/model/result.js";
import { type CliRun, cliReadableByAll, NOBODY, runCli, runCliAsNobody } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

let h: RunningHaproxy;
let cli: { cli: string; remove: () => Promise<void> };

beforeAll(async () => {
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
  await chmod(h.dir, 0o755);
  cli = await cliReadableByAll();
});
afterAll(async () => {
  await Promise.all([h.stop(), cli.remove()]);
});

function asNobody(config: string, args: string[]): Promise<CliRun> {
  return runCliAsNobody(cli.cli, ["--config", config, ...args]);
}

async function configAt(name: string, options: { sockets: string[]; stateDir?: string; kind?: "map" | "acl" }): Promise<string> {
  const path = await writeConfig(
    h.dir,
    {
      staticEntries: ["127.0.0.21"],
      sockets: options.sockets,
      map: h.listFile,
      ...(options.kind ? { kind: options.kind } : {}),
      auditPath: join(options.stateDir ?? h.dir, "audit.jsonl"),
      ...(options.stateDir ? { extra: { stateDir: options.stateDir } } : {}),
    },
    name,
  );
  await chmod(path, 0o644);
  return path;
}

describe("errors a person can act on", () => {
  it("a state directory this user cannot write: E_STATE_DIR naming the path, the user, the owner and a fix; never 'another sync holds the lock'", async () => {
    const state = join(h.dir, "root-owned-state");
    await mkdir(state, { mode: 0o755 });
    const config = await configAt("unwritable-state.yaml", { sockets: [h.tcpTarget], stateDir: state });
    const run = await asNobody(config, ["--output", "json", "sync"]);
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as RunResult;
    expect(result.error?.code).toBe("E_STATE_DIR");
    expect(result.error?.message).toContain(`${state}: permission denied for user nobody (uid ${NOBODY}); it is owned by uid 0`);
    expect(result.error?.message).toContain(`chown -R ${NOBODY} ${state}`);
    expect(run.stderr).not.toMatch(/another sync|E_INTERNAL/);
  });

  it.each([
    ["a regular file given as the socket", async () => `unix://${await writeFileAt("not-a-socket.sock")}`, "is not a socket but a regular file"],
    ["a socket path with no file at it", () => Promise.resolve(`unix://${join(h.dir, "gone.sock")}`), "does not exist"],
  ])("%s says which", async (_name, target, text) => {
    const config = await configAt(`socket-${text.replace(/\W+/g, "-")}.yaml`, { sockets: [await target()] });
    const run = await runCli(["--config", config, "--output", "json", "status"]);
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout) as { instances: Array<{ error: string; errorCode: string }> }).instances[0]).toMatchObject({
      errorCode: "E_HAPROXY_CONNECT",
      error: expect.stringContaining(text),
    });
  });

  it("a socket this user may not open (mode 600) names the user and the owner, and advises a group-accessible stats socket, never a chown", async () => {
    const config = await configAt("socket-permission.yaml", { sockets: [h.unixTarget], stateDir: await ownStateDir("perm-state") });
    const run = await asNobody(config, ["--output", "json", "status"]);
    expect(run.code).toBe(1);
    const instance = (JSON.parse(run.stdout) as { instances: Array<{ error: string; errorCode: string }> }).instances[0];
    const socketPath = h.unixTarget.slice("unix://".length);
    expect(instance?.errorCode).toBe("E_HAPROXY_CONNECT");
    expect(instance?.error).toContain(
      `permission denied (EACCES) for user nobody (uid ${NOBODY}, gid ${NOBODY}); the socket is owned by uid 0 (gid 0), mode 600`,
    );
    expect(instance?.error).toContain(`in haproxy.cfg "stats socket ${socketPath} mode 660 level admin group <group>", and add user nobody to <group>`);
    expect(instance?.error).toContain("Do not chown the socket: HAProxy creates it anew at every start and reload");
    expect(instance?.error).not.toMatch(/\bchown \d/);
  });

  it("an audit trail this user cannot write names the user, the owner and the fix, and nothing is applied", async () => {
    const trailDir = join(h.dir, "root-owned-audit");
    await mkdir(trailDir, { mode: 0o755 });
    const path = await writeConfig(
      h.dir,
      {
        staticEntries: ["127.0.0.21"],
        sockets: [h.tcpTarget],
        map: h.listFile,
        auditPath: join(trailDir, "audit.jsonl"),
        extra: { stateDir: await ownStateDir("audit-state") },
      },
      "unwritable-audit.yaml",
    );
    await chmod(path, 0o644);
    const run = await asNobody(path, ["--output", "json", "sync"]);
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as RunResult;
    expect(result.error?.code).toBe("E_AUDIT_WRITE");
    expect(result.error?.message).toContain(`${trailDir}: permission denied for user nobody (uid ${NOBODY}); it is owned by uid 0`);
    expect(result.instances[0]?.status).toBe("failed");
  });

  it("kind: acl pointed at a map says it is loaded as a map", async () => {
    const config = await configAt("wrong-kind.yaml", { sockets: [h.unixTarget], kind: "acl" });
    const run = await runCli(["--config", config, "--output", "json", "status"]);
    expect((JSON.parse(run.stdout) as { instances: Array<{ error: string }> }).instances[0]?.error).toContain(
      `${h.listFile} is loaded as a map, not as an ACL: set haproxy.kind: map`,
    );
  });
});

async function writeFileAt(name: string): Promise<string> {
  const path = join(h.dir, name);
  await writeFile(path, "");
  return path;
}

async function ownStateDir(name: string): Promise<string> {
  const dir = join(h.dir, name);
  await mkdir(dir, { mode: 0o700 });
  await chown(dir, NOBODY, NOBODY);
  return dir;
}
