import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

let dns: RunningDnsServer;
let h: RunningHaproxy;
let gateway: HttpReceiver;

beforeAll(async () => {
  dns = await startDnsServer({ zones: { "nat.travisci.net": { A: ["127.0.0.21", "34.66.25.221"] } } });
  h = await startHaproxy({ kind: "map" });
  gateway = await startReceiver([200]);
});
afterAll(async () => {
  await Promise.all([h.stop(), dns.stop(), gateway.stop()]);
});

describe("one-shot sync metrics", () => {
  it("pushes to the Pushgateway and writes the textfile, but not for a dry run", async () => {
    const textfile = join(h.dir, "node_exporter", "travis-allowlist.prom");
    const config = await writeConfig(h.dir, {
      resolver: dns.resolver,
      sockets: [h.unixTarget],
      map: h.listFile,
      extra: { metrics: { pushgateway: gateway.url, textfile } },
    });
    expect((await runCli(["--config", config, "sync", "--dry-run"])).code).toBe(0);
    expect(gateway.requests).toHaveLength(0);

    expect((await runCli(["--config", config, "sync"])).code).toBe(0);
    expect(gateway.requests).toHaveLength(1);
    const pushed = gateway.requests[0]!;
    expect(pushed).toMatchObject({ method: "POST", path: "/metrics/job/travis_allowlist" });
    for (const line of [
      "travis_allowlist_desired_entries 2",
      'travis_allowlist_last_run_changes{op="add"} 2',
      'travis_allowlist_last_run_changes{op="remove"} 0',
      `travis_allowlist_instance_in_sync{target="${h.unixTarget}"} 1`,
      'travis_allowlist_source_up{source="travis-dns"} 1',
      "travis_allowlist_last_run_held 0",
    ]) {
      expect(pushed.body).toContain(`${line}\n`);
    }
    expect(pushed.body).toMatch(/^travis_allowlist_last_success_timestamp_seconds \d+/m);
    expect(pushed.body).toMatch(/^travis_allowlist_last_run_duration_seconds [\d.]+/m);
    expect(await readFile(textfile, "utf8")).toBe(pushed.body);
  });
});
