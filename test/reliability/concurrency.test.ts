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
  for (let i = 0; i < 2; i++)
    fleet.push(await startHaproxy({ kind: "map", entries: FOREIGN, listFile: join(dir, "travis.map"), socketName: `admin-${i}.sock` }));
});
afterAll(async () => {
  await Promise.all(fleet.map((h) => h.stop()));
});

describe("two sync processes at once", () => {
  it(`both finish, the final set is right and no foreign entry is lost (${PAIRS} pairs)`, async () => {
    let retried = 0;
    for (let pair = 0; pair < PAIRS; pair++) {
      const set = ["127.0.0.21", ...Array.from({ length: 800 }, (_, i) => `34.${100 + pair}.${i >> 8}.${i & 255}`)];
      // Odd pairs run as if on two hosts (separate state, so no shared run lock): only conflict detection keeps them apart.
      const host = (n: number) => (pair % 2 === 0 ? "shared" : `host-${n}`);
      const paths = [0, 1].map((n) => join(dir, `pair-${pair}-${n}.yaml`));
      for (const [n, path] of paths.entries()) {
        const document = configDocument({
          staticEntries: set,
          sockets: fleet.map((h) => h.unixTarget),
          map: fleet[0]!.listFile,
          auditPath: join(dir, host(n), "audit.jsonl"),
        });
        await writeFile(path, stringify({ ...document, guards: { ...(document.guards as object), maxAdditions: 100_000, maxRemovals: 100_000 } }));
      }
      const runs = await Promise.all(paths.map((path) => runCli(["--config", path, "--output", "json", "sync"])));
      for (const run of runs) {
        const failures = (JSON.parse(run.stdout) as RunResult).instances.filter((i) => i.error).map((i) => `${i.target}: ${i.error}`);
        expect(run.code, failures.join("; ")).toBe(0);
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
