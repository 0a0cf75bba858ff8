import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../../src/model/result.js";
import { runCli } from "../support/cli.js";
import { configDocument } from "../support/config.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { recordFigure, rounds } from "../support/reliability.js";
import { tempDir } from "../support/tmp.js";

const PAIRS = rounds(5, 25);
const FOREIGN = ["127.0.0.5 office", "10.0.0.0/8 vpn"];
let fleet: RunningHaproxy[];
let dir: string;

beforeAll(async () => {
  dir = (await tempDir("ta-concurrent-")).path;
  fleet = [];
  for (let i = 0; i < 2; i++) fleet.push(await startHaproxy({ kind: "map", entries: FOREIGN, listFile: join(dir, "travis.map"), socketName: `admin-${i}.sock` }));
});
afterAll(async () => {
  await Promise.all(fleet.map((h) => h.stop()));
});

describe("two sync processes at once", () => {
  it(`both finish, the final set is right and no foreign entry is lost (${PAIRS} pairs)`, async () => {
    let retried = 0;
    for (let pair = 0; pair < PAIRS; pair++) {
      const set = ["127.0.0.21", ...Array.from({ length: 800 }, (_, i) => `34.${100 + pair}.${i >> 8}.${i & 255}`)];
      const path = join(dir, `pair-${pair}.yaml`);
      const document = configDocument({ staticEntries: set, sockets: fleet.map((h) => h.unixTarget), map: fleet[0]!.listFile, auditPath: join(dir, "audit.jsonl") });
      await writeFile(path, stringify({ ...document, guards: { ...(document.guards as object), maxAdditions: 100_000, maxRemovals: 100_000 } }));
      const runs = await Promise.all([runCli(["--config", path, "--output", "json", "sync"]), runCli(["--config", path, "--output", "json", "sync"])]);
      for (const run of runs) {
        expect(run.code, run.stderr.slice(-500)).toBe(0);
        if (run.stderr.includes("conflict with another writer")) retried++;
        expect((JSON.parse(run.stdout) as RunResult).instances.every((i) => i.status === "applied" || i.status === "in-sync")).toBe(true);
      }
      const expected = [...FOREIGN, ...set.map((a) => `${a}/32 travis`)].sort();
      for (const h of fleet) expect(await liveEntries(h)).toEqual(expected);
    }
    recordFigure("concurrent-pairs", PAIRS);
    recordFigure("concurrent-retries", retried);
  });
});
