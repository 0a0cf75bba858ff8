import { describe, expect, it } from "vitest";
import { createMetrics } from "../../../src/metrics/metrics.js";
import { addSecrets } from "../../../src/util/secrets.js";
import { instanceResult, runResult } from "../../support/results.js";

const FINISHED = new Date("2026-11-26T18:00:00.000Z");
const SECONDS = FINISHED.getTime() / 1000;

describe("metrics", () => {
  it("exposes the contract's names with the run's values", async () => {
    const metrics = createMetrics();
    metrics.observe(
      runResult({
        durationMs: 1500,
        desired: { count: 55, digest: "sha256:x" },
        instances: [instanceResult({ target: "tcp://a:9999", status: "applied" }), instanceResult({ target: "tcp://b:9999", status: "failed" })],
        sources: [
          { name: "travis-dns", type: "dns", status: "ok", count: 55, durationMs: 1 },
          { name: "feed", type: "http", status: "failed", count: 0, durationMs: 1 },
        ],
        exitCode: 1,
      }),
      FINISHED,
    );
    const text = await metrics.text();
    for (const line of [
      `travis_allowlist_last_run_timestamp_seconds ${SECONDS}`,
      "travis_allowlist_desired_entries 55",
      'travis_allowlist_last_run_changes{op="add"} 1',
      'travis_allowlist_last_run_changes{op="remove"} 1',
      "travis_allowlist_last_run_duration_seconds 1.5",
      'travis_allowlist_instance_in_sync{target="tcp://a:9999"} 1',
      'travis_allowlist_instance_in_sync{target="tcp://b:9999"} 0',
      "travis_allowlist_guard_holds_total 0",
      'travis_allowlist_source_failures_total{source="feed"} 1',
      'travis_allowlist_source_failures_total{source="travis-dns"} 0',
    ]) {
      expect(text).toContain(`${line}\n`);
    }
    // The daemon exposes 0 until a run succeeds, so "no success yet" alerts fire.
    expect(text).toContain("travis_allowlist_last_success_timestamp_seconds 0\n");
    expect(metrics.lastSuccess()).toBeUndefined();
  });

  it("sets last success only on a successful run, and counts holds", async () => {
    const metrics = createMetrics({ omitUnsetSuccess: true });
    metrics.observe(runResult({ exitCode: 3, held: { guard: "maxRemovals", message: "m", trips: [] } }), FINISHED);
    expect(await metrics.text()).not.toContain("travis_allowlist_last_success_timestamp_seconds");
    expect(await metrics.text()).toContain("travis_allowlist_guard_holds_total 1\n");
    metrics.observe(runResult({ exitCode: 0 }), FINISHED);
    expect(await metrics.text()).toContain(`travis_allowlist_last_success_timestamp_seconds ${SECONDS}\n`);
    expect(metrics.lastSuccess()).toBe(SECONDS);
  });
});

describe("metrics and secrets", () => {
  it("only label values are scrubbed: a secret that is a word of a metric name (travis) leaves the names whole", async () => {
    addSecrets(["travis", "sockdir-secret-31"]);
    const metrics = createMetrics();
    metrics.observe(
      runResult({
        instances: [instanceResult({ target: "unix:///run/sockdir-secret-31/admin.sock", status: "applied" })],
        sources: [{ name: "travis", type: "static", status: "ok", count: 1, durationMs: 1 }],
        exitCode: 0,
      }),
      FINISHED,
    );
    metrics.restartSeen("unix:///run/sockdir-secret-31/admin.sock");
    const text = await metrics.text();
    expect(text).not.toContain("***_allowlist");
    expect(text).toContain("# TYPE travis_allowlist_instance_in_sync gauge\n");
    expect(text).toContain('travis_allowlist_instance_in_sync{target="unix:///run/***/admin.sock"} 1\n');
    expect(text).toContain('travis_allowlist_source_failures_total{source="***"} 0\n');
    expect(text).toContain('travis_allowlist_instance_restarts_total{target="unix:///run/***/admin.sock"} 1\n');
    expect(text).not.toContain("sockdir-secret-31");
  });
});
