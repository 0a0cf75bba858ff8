import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/program.js";
import { Scrubber } from "../../src/util/secrets.js";
import { writeConfig } from "../support/config.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

/** When the plan is made; every run below reads its own fixed clock, never the wall clock. */
const MADE = Date.parse("2026-11-26T18:00:00.000Z");
const MINUTE = 60_000;

let h: RunningHaproxy;
let config: string;
let plan: string;

/** The CLI in this process, on a clock fixed at `now`: its exit code and what it printed. */
async function cliAt(now: number, args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const io = {
    stdout: (text: string) => Promise.resolve(void (stdout += text)),
    stderr: () => undefined,
    env: {},
    now: () => new Date(now),
    scrubber: new Scrubber(),
  };
  const code = await run(["--config", config, "--log-level", "silent", ...args], io);
  return { code, stdout };
}

beforeAll(async () => {
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office", "127.0.0.21/32 travis"] });
  config = await writeConfig(h.dir, { staticEntries: ["127.0.0.21", "127.0.0.22"], sockets: [h.unixTarget], map: h.listFile });
  plan = join(h.dir, "reviewed.plan.json");
  expect((await cliAt(MADE, ["sync", "--dry-run", "--plan-out", plan])).code).toBe(0);
});
afterAll(() => h.stop());

describe("a reviewed plan's age (planMaxAge, default 1h), by the injected clock", () => {
  it.each([
    [
      "an hour and a second after it was made",
      MADE + 60 * MINUTE + 1000,
      "the plan is too old: made at 2026-11-26T18:00:00.000Z, 1h1s ago, longer than planMaxAge (1h)",
    ],
    [
      "ten minutes before it was made (a clock further behind than skew explains)",
      MADE - 10 * MINUTE,
      "the plan is dated in the future: made at 2026-11-26T18:00:00.000Z, 10m ahead of this host's clock (2026-11-26T17:50:00.000Z), more than the 5m of skew allowed",
    ],
  ])("is refused %s: E_PLAN_STALE, exit 1, nothing applied", async (_when, now, message) => {
    const before = await liveEntries(h);
    const refused = await cliAt(now, ["--output", "json", "sync", "--plan", plan]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ exitCode: 1, error: { code: "E_PLAN_STALE", message: expect.stringContaining(message) } });
    expect(await liveEntries(h)).toEqual(before);
  });

  it("is applied within planMaxAge, and the same clock then refuses it as used", async () => {
    const applied = await cliAt(MADE + 59 * MINUTE, ["--output", "json", "sync", "--plan", plan]);
    expect(JSON.parse(applied.stdout)).toMatchObject({ exitCode: 0, reviewedPlan: { createdAt: "2026-11-26T18:00:00.000Z" } });
    expect(await liveEntries(h)).toEqual(["127.0.0.21/32 travis", "127.0.0.22/32 travis", "127.0.0.5 office"]);
    const again = await cliAt(MADE + 59 * MINUTE, ["--output", "json", "sync", "--plan", plan]);
    expect(JSON.parse(again.stdout)).toMatchObject({
      exitCode: 1,
      error: { code: "E_PLAN_STALE", message: expect.stringContaining("was already applied by run") },
    });
  });
});
