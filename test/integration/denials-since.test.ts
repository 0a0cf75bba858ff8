import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/program.js";
import type { ShownDenials } from "../../src/cli/render/denials.js";
import { Scrubber } from "../../src/util/secrets.js";
import { writeConfig } from "../support/config.js";
import { deniedClientsRecipe, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

/** The CLI's clock; every lastSeen below is reckoned from it, never from the wall clock. */
const NOW = Date.parse("2026-11-26T18:00:00.000Z");
const HOUR = 3_600_000;
/** Far more than the requests and the command take, even on a busy machine. */
const SLACK_MS = 120_000;

let h: RunningHaproxy;
let sameExpire: string;
let longerExpire: string;

/** The CLI in this process, on the fixed clock: its exit code and its JSON report. */
async function denialsAt(config: string, args: string[]): Promise<{ code: number; report: ShownDenials }> {
  let stdout = "";
  const io = {
    stdout: (text: string) => Promise.resolve(void (stdout += text)),
    stderr: () => undefined,
    env: {},
    now: () => new Date(NOW),
    scrubber: new Scrubber(),
  };
  const code = await run(["--config", config, "--log-level", "silent", "--output", "json", "denials", ...args], io);
  return { code, report: JSON.parse(stdout) as ShownDenials };
}

beforeAll(async () => {
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.21/32 travis"], ...deniedClientsRecipe() });
  const base = { staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: h.listFile };
  sameExpire = await writeConfig(h.dir, { ...base, denials: { table: "st_denied" } }, "same.yaml");
  // The table's expire is 24h: configured as 48h, each client looks last seen a day before the clock.
  longerExpire = await writeConfig(h.dir, { ...base, denials: { table: "st_denied", expire: "48h" } }, "longer.yaml");
  expect(await h.statusFrom("127.0.0.50")).toBe(403);
});
afterAll(() => h.stop());

describe("denials --since, by the injected clock and haproxy.denials.expire", () => {
  it("reckons lastSeen from the table's expire (24h by default): a client denied just now is seen now", async () => {
    const { code, report } = await denialsAt(sameExpire, ["--since", "5m"]);
    expect(code).toBe(0);
    expect(report.denials.map((d) => d.address)).toEqual(["127.0.0.50"]);
    const lastSeen = Date.parse(report.denials[0]?.lastSeen ?? "");
    expect(lastSeen).toBeLessThanOrEqual(NOW);
    expect(lastSeen).toBeGreaterThan(NOW - SLACK_MS);
  });

  it("leaves out clients last seen before the window, and keeps them in a wider one", async () => {
    const narrow = await denialsAt(longerExpire, ["--since", "1h"]);
    expect(narrow.code).toBe(0);
    expect(narrow.report.denials).toEqual([]);
    expect(narrow.report.tables).toMatchObject([{ entries: 1, error: null }]);

    const wide = await denialsAt(longerExpire, ["--since", "25h"]);
    expect(wide.report.denials.map((d) => d.address)).toEqual(["127.0.0.50"]);
    const lastSeen = Date.parse(wide.report.denials[0]?.lastSeen ?? "");
    expect(lastSeen).toBeLessThanOrEqual(NOW - 24 * HOUR);
    expect(lastSeen).toBeGreaterThan(NOW - 24 * HOUR - SLACK_MS);
  });
});
