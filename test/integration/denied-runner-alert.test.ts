import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNotifier } from "../../src/alert/notifier.js";
import { run } from "../../src/cli/program.js";
import { literalSecrets } from "../../src/config/redact.js";
import type { Config } from "../../src/config/schema.js";
import { alertStore } from "../../src/state/alert-store.js";
import { StoredNames } from "../../src/state/stored-names.js";
import { Scrubber } from "../../src/util/secrets.js";
import { testConfig, writeConfig } from "../support/config.js";
import { type RunningDnsServer, startDnsServer } from "../support/dns-server.js";
import { deniedClientsRecipe, haproxyBinaries, liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { parseExposition, sample } from "../support/prometheus.js";
import { syncOnce } from "../support/reconcile.js";

const START = Date.parse("2026-11-26T18:00:00.000Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface Delivered {
  event: string;
  phase: string;
  conditions: Array<{ about: string[] }>;
  deniedRunners?: Array<{ address: string; reason: string; requests: number; targets: string[] }>;
}

describe.each(haproxyBinaries())("alert denied-runner over real HAProxy $version, DNS and a webhook", ({ bin }) => {
  let h: RunningHaproxy;
  let dns: RunningDnsServer;
  let hook: HttpReceiver;

  beforeAll(async () => {
    h = await startHaproxy({ bin, kind: "map", entries: ["127.0.0.21/32 travis"], ...deniedClientsRecipe() });
    dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21"] } } });
    hook = await startReceiver([200]);
  });
  afterAll(async () => {
    await Promise.all([h.stop(), dns.stop(), hook.stop()]);
  });

  function config(maxAdditions: number): Config {
    return testConfig({
      resolver: dns.resolver,
      sockets: [h.unixTarget],
      map: h.listFile,
      denials: { table: "st_denied" },
      extra: {
        guards: { maxAdditions },
        alerts: { on: ["denied-runner"], repeatInterval: "4h", sinks: [{ type: "webhook", url: hook.url, timeoutMs: 5000 }] },
      },
    });
  }

  /** One sync on the test's clock, `at` after START; what the webhook got from it. */
  async function syncAt(at: number, maxAdditions: number): Promise<{ status: string; delivered: Delivered[] }> {
    const clock = new Date(START + at);
    const c = config(maxAdditions);
    const scrubber = new Scrubber(literalSecrets(c));
    const before = hook.requests.length;
    const shown = await syncOnce(
      c,
      {},
      {
        now: () => clock,
        notifier: createNotifier(c.alerts.sinks, { backoffMs: 10, now: () => clock, scrubber }),
        alertState: alertStore(join(h.dir), new StoredNames(scrubber, [])),
      },
    );
    return { status: shown.instances[0]?.status ?? "none", delivered: hook.requests.slice(before).map((r) => r.json as Delivered) };
  }

  it("starts when a published runner is denied, names new addresses at once, reminds after repeatInterval, and resolves once the runner is admitted", async () => {
    expect((await syncAt(0, 1)).status).toBe("in-sync");

    // Travis publishes two more runners; a guard holds their addition, so both stay denied.
    dns.zones["nat.travisci.net"] = { A: ["127.0.0.21", "127.0.0.22", "127.0.0.23"] };
    expect(await h.statusFrom("127.0.0.22")).toBe(403);
    expect(await h.statusFrom("127.0.0.22")).toBe(403);
    // A client nobody publishes is denied too, and is no runner.
    expect(await h.statusFrom("127.0.0.99")).toBe(403);

    const started = await syncAt(MINUTE, 1);
    expect(started.status).toBe("held");
    expect(started.delivered).toMatchObject([{ event: "denied-runner", phase: "firing", conditions: [{ about: ["127.0.0.22"] }] }]);
    expect(started.delivered[0]?.deniedRunners).toEqual([
      expect.objectContaining({ address: "127.0.0.22", reason: "held", requests: 2, targets: [h.unixTarget] }),
    ]);

    // The same runner, denied again: told already.
    expect(await h.statusFrom("127.0.0.22")).toBe(403);
    expect((await syncAt(2 * MINUTE, 1)).delivered).toEqual([]);

    // Another published runner turned away is news at once, before any reminder is due.
    expect(await h.statusFrom("127.0.0.23")).toBe(403);
    const grew = await syncAt(3 * MINUTE, 1);
    expect(grew.delivered).toMatchObject([{ event: "denied-runner", phase: "firing", conditions: [{ about: ["127.0.0.22", "127.0.0.23"] }] }]);

    expect((await syncAt(3 * MINUTE + 4 * HOUR - 1, 1)).delivered).toEqual([]);
    expect((await syncAt(3 * MINUTE + 4 * HOUR, 1)).delivered).toMatchObject([{ event: "denied-runner", phase: "reminder" }]);

    // The guard lets the additions through: the sync that admits both finds only their earlier denials, which are history.
    const admitted = await syncAt(5 * HOUR, 5);
    expect(admitted.status).toBe("applied");
    expect(await liveEntries(h)).toEqual(["127.0.0.21/32 travis", "127.0.0.22/32 travis", "127.0.0.23/32 travis"]);
    expect(admitted.delivered).toMatchObject([{ event: "denied-runner", phase: "resolved" }]);
    expect(await h.statusFrom("127.0.0.22")).toBe(200);
    expect((await syncAt(5 * HOUR + MINUTE, 5)).delivered).toEqual([]);
  });

  it("denials still lists the admitted runners from the table, not current, and --detailed-exitcode says no runner is denied", async () => {
    const file = await writeConfig(
      h.dir,
      { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, denials: { table: "st_denied" } },
      "denials.yaml",
    );
    let stdout = "";
    const io = {
      stdout: (text: string) => Promise.resolve(void (stdout += text)),
      stderr: () => undefined,
      env: {},
      // The table's lastSeen is reckoned from this clock; the admitting run's clock keeps the real order (denied, then admitted, moments apart).
      now: () => new Date(START + 5 * HOUR),
      scrubber: new Scrubber(),
    };
    const code = await run(["--config", file, "--log-level", "silent", "--output", "json", "denials", "--detailed-exitcode"], io);
    const report = JSON.parse(stdout) as { denials: Array<{ address: string; reason: string; current: boolean; detail: string }> };
    expect(code).toBe(0);
    expect(report.denials.map((d) => [d.address, d.reason, d.current])).toEqual([
      ["127.0.0.22", "stale", false],
      ["127.0.0.23", "stale", false],
      ["127.0.0.99", "unpublished", true],
    ]);
    expect(report.denials[0]?.detail).toContain("admitted since");
  });

  it("a one-shot sync exports the tables as it read them, by instance and reason, in the textfile", async () => {
    const textfile = join(h.dir, "denied.prom");
    const file = await writeConfig(
      h.dir,
      { resolver: dns.resolver, sockets: [h.unixTarget], map: h.listFile, denials: { table: "st_denied" }, extra: { metrics: { textfile } } },
      "textfile.yaml",
    );
    const io = { stdout: () => Promise.resolve(), stderr: () => undefined, env: {}, now: () => new Date(START + 5 * HOUR), scrubber: new Scrubber() };
    expect(await run(["--config", file, "--log-level", "silent", "sync"], io)).toBe(0);
    const series = parseExposition(await readFile(textfile, "utf8"));
    const at = (metric: string, reason: string) => sample(series, metric, { target: h.unixTarget, reason });
    expect(series.get("travis_allowlist_denied_clients")?.type).toBe("gauge");
    expect([at("travis_allowlist_denied_clients", "stale"), at("travis_allowlist_denied_clients", "unpublished")]).toEqual([2, 1]);
    // 127.0.0.22 three times and 127.0.0.23 once before they were admitted; 127.0.0.99 once.
    expect([at("travis_allowlist_denied_requests", "stale"), at("travis_allowlist_denied_requests", "unpublished")]).toEqual([4, 1]);
  });
});
