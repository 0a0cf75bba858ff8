import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { watchConnection } from "../../src/cli/wiring.js";
import type { Config } from "../../src/config/schema.js";
import type { LastRun } from "../../src/reconcile/last-run.js";
import { denialsBetweenRuns } from "../../src/reconcile/run-denials.js";
import { literalSecrets } from "../../src/config/redact.js";
import { Scrubber } from "../../src/util/secrets.js";
import { cleanUpAfterEach } from "../support/cleanups.js";
import { testConfig } from "../support/config.js";
import { startDnsServer } from "../support/dns-server.js";
import { deniedClientsRecipe, haproxyBinaries, startHaproxy } from "../support/haproxy.js";
import { syncOnce } from "../support/reconcile.js";
import { until } from "../support/wait.js";

const cleanups = cleanUpAfterEach();

/** One sync, keeping what it knew as the daemon does. */
async function lastRunOf(config: Config): Promise<LastRun> {
  let last: LastRun | undefined;
  await syncOnce(config, { keepLastRun: (known) => (last = known) });
  if (!last) throw new Error("the sync kept nothing to judge the tables by");
  return last;
}

/** One look, wired as the daemon wires it. */
function look(last: LastRun, config: Config) {
  const table = config.haproxy.denials;
  if (!table) throw new Error("the config has no haproxy.denials");
  const deps = { connect: watchConnection(config, new Scrubber(literalSecrets(config))), logger: pino({ level: "silent" }), now: () => new Date() };
  return denialsBetweenRuns(last, config, deps, table);
}

describe.each(haproxyBinaries())("a look between runs, over real HAProxy $version", ({ bin }) => {
  it("judges the tables by the last run alone: history before its admission, a runner denied since, a newcomer, and not one DNS query", async () => {
    const h = await startHaproxy({ bin, kind: "map", entries: [], ...deniedClientsRecipe() });
    const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21", "127.0.0.22"] } } });
    cleanups.later(() => h.stop());
    cleanups.later(() => dns.stop());
    const config = testConfig({ resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, denials: { table: "st_denied" } });
    expect(await h.statusFrom("127.0.0.21")).toBe(403);
    expect(await h.statusFrom("127.0.0.99")).toBe(403);
    const last = await lastRunOf(config);
    const queries = dns.queries.length;

    // 127.0.0.21 was denied before the run admitted it; 127.0.0.99 is unpublished, and the run's tables listed it.
    const before = await look(last, config);
    expect(before.denials.runners).toEqual([]);
    expect(before.newcomers).toEqual([]);
    expect(before.denials.counts).toEqual(
      expect.arrayContaining([
        { target: h.unixTarget, reason: "stale", clients: 1, requests: 1 },
        { target: h.unixTarget, reason: "unpublished", clients: 1, requests: 1 },
      ]),
    );

    // Behind the tool's back, a runner the run left live is taken out: its denial after the run is current.
    // A table entry's last request is reckoned from its expiry, to HAProxy's millisecond: the denial must come clearly after the run.
    await until(() => Date.now() > last.at.getTime() + 100, "a moment after the run");
    await h.command(`del map ${h.listFile} 127.0.0.22/32`);
    expect(await h.statusFrom("127.0.0.22")).toBe(403);
    expect(await h.statusFrom("127.0.0.98")).toBe(403);
    const after = await look(last, config);
    expect(after.denials.runners.map((d) => [d.address, d.reason])).toEqual([["127.0.0.22", "stale"]]);
    expect(after.newcomers).toEqual(["127.0.0.98"]);
    expect(dns.queries.length).toBe(queries);
  }, 60_000);

  it("an address the last run removed is counted as removed, and is a newcomer until a run has seen it denied", async () => {
    const h = await startHaproxy({ bin, kind: "map", entries: ["127.0.0.21/32 travis", "127.0.0.30/32 travis"], ...deniedClientsRecipe() });
    const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21"] } } });
    cleanups.later(() => h.stop());
    cleanups.later(() => dns.stop());
    const config = testConfig({ resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, denials: { table: "st_denied" } });
    const removing = await lastRunOf(config);
    expect(await h.statusFrom("127.0.0.30")).toBe(403);

    const judged = await look(removing, config);
    expect(judged.denials.counts).toEqual([{ target: h.unixTarget, reason: "removed", clients: 1, requests: 1 }]);
    expect(judged.newcomers).toEqual(["127.0.0.30"]);
    expect((await look(await lastRunOf(config), config)).newcomers).toEqual([]);
  }, 60_000);

  it("an instance whose table cannot be read is left out of the look; the others are judged", async () => {
    const h = await startHaproxy({ bin, kind: "map", entries: [], ...deniedClientsRecipe() });
    const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21"] } } });
    cleanups.later(() => h.stop());
    cleanups.later(() => dns.stop());
    const gone = `unix://${h.dir}/gone.sock`;
    const config = testConfig({ resolver: dns.resolver, sockets: [h.unixTarget, gone], map: h.listFile, denials: { table: "st_denied" } });
    const last = await lastRunOf(config);
    expect(last.targets).toEqual([h.unixTarget, gone]);

    expect(await h.statusFrom("127.0.0.98")).toBe(403);
    const judged = await look(last, config);
    expect(judged.denials.counts).toEqual([{ target: h.unixTarget, reason: "unpublished", clients: 1, requests: 1 }]);
    expect(judged.newcomers).toEqual(["127.0.0.98"]);
  }, 60_000);

  it("before anyone is denied, a look judges nothing and finds nothing", async () => {
    const h = await startHaproxy({ bin, kind: "map", entries: [], ...deniedClientsRecipe() });
    const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21"] } } });
    cleanups.later(() => h.stop());
    cleanups.later(() => dns.stop());
    const config = testConfig({ resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, denials: { table: "st_denied" } });
    const last = await lastRunOf(config);
    expect(await look(last, config)).toEqual({ denials: { runners: [], counts: [] }, newcomers: [] });
  }, 60_000);
});
