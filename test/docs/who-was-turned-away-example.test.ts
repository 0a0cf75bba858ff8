import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { documentedRuns, missingLines } from "../support/documented-runs.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { deniedClientsRecipe, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

let dns: RunningDnsServer;
let h: RunningHaproxy | undefined;

beforeAll(async () => {
  dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21"] } } });
});
afterAll(async () => {
  await Promise.all([h?.stop(), dns?.stop()]);
});

describe('the worked example under "Who was turned away"', () => {
  it("in README.md prints what it shows, against a real HAProxy", async () => {
    const runs = documentedRuns("README.md", "Who was turned away");
    expect(runs.map((r) => r.args[0])).toEqual(["denials"]);
    h = await startHaproxy({ kind: "map", ...deniedClientsRecipe() });
    const config = await writeConfig(h.dir, { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, denials: { table: "st_denied" } });
    expect((await runCli(["--config", config, "sync"])).code).toBe(0);
    // A new runner: published by DNS, not synced yet, denied three times.
    dns.zones["nat.travisci.net"] = { A: ["127.0.0.21", "127.0.0.24"] };
    for (let i = 0; i < 3; i++) expect(await h.statusFrom("127.0.0.24")).toBe(403);

    for (const run of runs) {
      const result = await runCli(["--config", config, ...run.args]);
      const output = result.stdout.split("\n");
      expect(missingLines(run.lines, output), `travis-allowlist ${run.args.join(" ")} printed:\n${result.stdout}`).toEqual([]);
      expect(result.code, run.args.join(" ")).toBe(run.exit);
    }
  }, 60_000);
});
