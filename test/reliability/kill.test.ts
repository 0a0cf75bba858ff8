import { spawn } from "node:child_process";
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditTrail } from "../../src/audit/trail.js";
import { childEnv, CLI, runCli } from "../support/cli.js";
import { configDocument } from "../support/config.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { recordFigure, rounds } from "../support/reliability.js";

const KILLS = rounds(50, 200);
const FOREIGN = "127.0.0.5 office";
/** Two desired sets that share an always-wanted build address and differ in 1,500 others. */
const SET_A = ["127.0.0.21", ...Array.from({ length: 1500 }, (_, i) => `34.${100 + (i >> 8)}.${i & 255}.1`)];
const SET_B = ["127.0.0.21", ...Array.from({ length: 1500 }, (_, i) => `35.${100 + (i >> 8)}.${i & 255}.2`)];
const live = (set: string[]) => [FOREIGN, ...set.map((a) => `${a}/32 travis`)].sort();

let h: RunningHaproxy;
const configs: Record<"a" | "b", string> = { a: "", b: "" };

beforeAll(async () => {
  h = await startHaproxy({ kind: "map", entries: [FOREIGN] });
  for (const [name, set] of [
    ["a", SET_A],
    ["b", SET_B],
  ] as const) {
    const document = configDocument({
      staticEntries: set,
      sockets: [h.unixTarget],
      map: h.listFile,
      extra: { guards: { maxAdditions: 100_000, maxRemovals: 100_000 } },
    });
    configs[name] = join(h.dir, `${name}.yaml`);
    await writeFile(configs[name], stringify(document));
  }
});
afterAll(() => h.stop());

/**
 * Runs sync and kills it: either `afterMs` after the start, or, with
 * `afterIntentMs`, that long after its intent reaches the audit trail (inside
 * the apply, which takes a few tens of milliseconds).
 */
async function killedSync(config: string, when: { afterMs: number } | { afterIntentMs: number }): Promise<void> {
  const audit = join(h.dir, "audit.jsonl");
  const sizeBefore = (await stat(audit).catch(() => ({ size: 0 }))).size;
  const child = spawn(process.execPath, [CLI, "--config", config, "sync"], { stdio: "ignore", env: childEnv() });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  if ("afterMs" in when) {
    // A random delay is the point: the kill lands at an arbitrary moment of the run.
    await Promise.race([exited, new Promise((r) => setTimeout(r, when.afterMs))]);
  } else {
    // Polls for the intent record (ends when the run exits, so needs no deadline of its own).
    while (!done && (await stat(audit).catch(() => ({ size: 0 }))).size === sizeBefore) await new Promise((r) => setTimeout(r, 1));
    // A random delay is the point: the kill lands at an arbitrary moment inside the apply.
    await new Promise((r) => setTimeout(r, when.afterIntentMs));
  }
  child.kill("SIGKILL");
  await exited;
}

/** When, after spawning, a run records its intent and finishes applying (from its own log lines). */
function calibrate(config: string): Promise<{ intentAt: number; appliedAt: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, "--config", config, "sync"], { stdio: ["ignore", "ignore", "pipe"], env: childEnv() });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", () => {
      const lines = stderr
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { time: number; msg: string });
      const intent = lines.find((l) => l.msg.startsWith("audit intent"));
      const applied = lines.find((l) => l.msg === "applied");
      if (!intent || !applied) reject(new Error(`calibration run did not apply: ${stderr.slice(0, 500)}`));
      else resolve({ intentAt: intent.time - started, appliedAt: applied.time - started });
    });
  });
}

describe("the tool killed with SIGKILL at random points of an apply", () => {
  it(`leaves the old or the complete new set every time (${KILLS} kills), then a normal run restores`, { timeout: 60_000 + KILLS * 2000 }, async () => {
    // Time one run from its own log; half the kills land anywhere in a run, half inside the apply.
    const { intentAt, appliedAt } = await calibrate(configs.b);
    const span = appliedAt - intentAt;
    const seen = { old: 0, new: 0 };
    let current = await liveEntries(h);
    for (let i = 0; i < KILLS; i++) {
      const target = i % 2 === 0 ? SET_A : SET_B;
      const when = i % 4 < 2 ? { afterMs: Math.floor(Math.random() * (appliedAt + 20)) } : { afterIntentMs: Math.floor(Math.random() * span * 1.5) };
      await killedSync(configs[i % 2 === 0 ? "a" : "b"], when);
      const after = await liveEntries(h);
      if (JSON.stringify(after) === JSON.stringify(current)) seen.old++;
      else {
        expect(after).toEqual(live(target));
        seen.new++;
      }
      current = after;
    }
    recordFigure("kills", KILLS);
    recordFigure("kill-outcomes", `${seen.old} old, ${seen.new} new, 0 partial`);
    expect(seen.old + seen.new).toBe(KILLS);

    const restore = await runCli(["--config", configs.a, "sync"]);
    expect(restore.code).toBe(0);
    expect(await liveEntries(h)).toEqual(live(SET_A));
    expect(await new AuditTrail(join(h.dir, "audit.jsonl")).verify()).toMatchObject({ ok: true });
    recordFigure("entries-lost", 0);
  });
});
