import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { documentedRuns, missingLines } from "../support/documented-runs.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

let dns: RunningDnsServer;
const running: RunningHaproxy[] = [];

beforeAll(async () => {
  dns = await startDnsServer({ zones: {} });
});
afterAll(async () => {
  await Promise.all([...running.map((h) => h.stop()), dns?.stop()]);
});

describe('the worked example under "Who gets in"', () => {
  it.each(["README.md", "docs/safety.md"])(
    "in %s prints what it shows, against a real HAProxy",
    async (page) => {
      const runs = documentedRuns(page, "Who gets in");
      expect(runs.map((r) => r.args[0])).toEqual(["status", "sync", "explain"]);
      dns.zones["nat.travisci.net"] = { A: ["127.0.0.21", "127.0.0.22"] };
      const h = await startHaproxy({ kind: "map", entries: ["127.0.1.0/24 office", "0.0.0.0/1 legacy"] });
      running.push(h);
      const config = await writeConfig(h.dir, {
        resolver: dns.resolver,
        sockets: [h.unixTarget],
        map: h.listFile,
        extra: { exclude: ["127.0.1.7/32"], guards: { removeAfter: "1h" } },
      });
      expect((await runCli(["--config", config, "sync"])).code).toBe(0);
      // Someone adds an entry by hand with the tool's value; the sources stop publishing .22.
      await h.command(`add map ${h.listFile} 127.0.0.66 travis`);
      dns.zones["nat.travisci.net"] = { A: ["127.0.0.21"] };

      for (const run of runs) {
        const result = await runCli(["--config", config, ...run.args]);
        const output = result.stdout.split("\n");
        expect(missingLines(run.lines, output), `travis-allowlist ${run.args.join(" ")} printed:\n${result.stdout}`).toEqual([]);
        expect(result.code, run.args.join(" ")).toBe(run.exit);
      }
      // What the example ends on: the hand-added entry is gone, and the address still gets in through the legacy range.
      expect(await h.statusFrom("127.0.0.66")).toBe(200);
      expect(await h.statusFrom("127.0.1.7")).toBe(200);
    },
    90_000,
  );
});
