import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HEAP_BYTES_PER_LIVE_ENTRY, HEAP_RESERVE_BYTES, runLiveEntries } from "../../src/haproxy/live-budget.js";
import { testConfig } from "../support/config.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { syncOnce } from "../support/reconcile.js";
import { tempDir } from "../support/tmp.js";

const running: RunningHaproxy[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

/**
 * A heap with room for 2,000 live entries: with the default 8 concurrent reads,
 * 15 of them each read's own and one list at most 1,895.
 */
const SMALL_HEAP = runLiveEntries(HEAP_RESERVE_BYTES + 2000 * HEAP_BYTES_PER_LIVE_ENTRY);

function foreignEntries(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.0.${i >> 8}.${i & 255} office`);
}

/** Instances loading their map from one path (one config names one path), each with its own entries. */
async function instances(...lists: string[][]): Promise<RunningHaproxy[]> {
  const dir = (await tempDir("ta-live-budget-")).path;
  const started: RunningHaproxy[] = [];
  for (const [i, entries] of lists.entries()) {
    // Each HAProxy reads the file as it starts, before the next one writes its own entries there.
    const h = await startHaproxy({ kind: "map", entries, listFile: join(dir, "travis.map"), socketName: `admin-${i}.sock` });
    running.push(h);
    started.push(h);
  }
  return started;
}

function configFor(fleet: RunningHaproxy[]) {
  return testConfig({ staticEntries: ["127.0.0.21"], sockets: fleet.map((h) => h.unixTarget), map: fleet[0]!.listFile });
}

describe("the run's budget of live entries, from the heap it runs in", () => {
  it("a list longer than the heap leaves room for fails its instance with E_HAPROXY_LIVE_TOO_LONG, naming the budget, and the others are applied", async () => {
    const [long, healthy] = await instances(foreignEntries(1896), ["127.0.0.5 office"]);
    const config = configFor([long!, healthy!]);
    expect(config.limits.maxLiveEntries).toBe(500_000);

    const result = await syncOnce(config, {}, { liveEntryBudget: SMALL_HEAP });

    expect(result.exitCode).toBe(1);
    expect(result.instances.map((i) => [i.target, i.status, i.errorCode])).toEqual([
      [long!.unixTarget, "failed", "E_HAPROXY_LIVE_TOO_LONG"],
      [healthy!.unixTarget, "applied", undefined],
    ]);
    expect(result.instances[0]?.error).toContain(
      "more than 1895 entries, the most one list may hold of the run's memory budget (2000 live entries for all instances together",
    );
    expect(await liveEntries(long!)).toHaveLength(1896);
    expect(await liveEntries(healthy!)).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
  });

  it("a list as long as one may be is applied", async () => {
    const [long] = await instances(foreignEntries(1895));
    const result = await syncOnce(configFor([long!]), {}, { liveEntryBudget: SMALL_HEAP });
    expect(result.instances.map((i) => [i.status, i.add])).toEqual([["applied", ["127.0.0.21/32"]]]);
    expect(await liveEntries(long!)).toHaveLength(1896);
  });

  it("holds all instances together to the budget: of two lists that each fit but not both, one fails and the other is applied", async () => {
    const fleet = await instances(foreignEntries(1000), foreignEntries(1000));
    const result = await syncOnce(configFor(fleet), {}, { liveEntryBudget: SMALL_HEAP });

    expect(result.exitCode).toBe(1);
    expect(result.instances.map((i) => i.status).sort()).toEqual(["applied", "failed"]);
    const failed = result.instances.find((i) => i.status === "failed");
    expect(failed).toMatchObject({ errorCode: "E_HAPROXY_LIVE_TOO_LONG" });
    expect(failed?.error).toContain("the other instances' lists already fill the run's memory budget (2000 live entries");
  });
});
