import { describe, expect, it } from "vitest";
import { createMetrics } from "../../../src/metrics/metrics.js";
import { Scrubber } from "../../../src/util/secrets.js";
import { parseExposition, sample } from "../../support/prometheus.js";
import { instanceResult, runResult } from "../../support/results.js";

const FINISHED = new Date("2026-11-26T18:00:00.000Z");
const SECONDS = FINISHED.getTime() / 1000;

describe("metrics", () => {
  it("exposes the contract's names with the run's values, each family of the right type", async () => {
    const metrics = createMetrics({ scrubber: new Scrubber() });
    metrics.observe(
      runResult({
        durationMs: 1500,
        desired: { count: 55, digest: "sha256:x" },
        instances: [
          instanceResult({ target: "tcp://a:9999", status: "applied", pendingRemoval: [{ entry: "34.1.1.1/32", removeAt: "2026-11-26T19:00:00Z" }] }),
          instanceResult({ target: "tcp://b:9999", status: "failed" }),
        ],
        sources: [
          { name: "travis-dns", type: "dns", status: "ok", count: 55, durationMs: 1 },
          { name: "feed", type: "http", status: "failed", count: 0, durationMs: 1 },
        ],
        outcome: "failed",
      }),
      FINISHED,
    );
    const series = parseExposition(await metrics.text());
    expect(Object.fromEntries([...series].map(([name, s]) => [name, s.type]))).toEqual({
      travis_allowlist_last_run_timestamp_seconds: "gauge",
      travis_allowlist_last_success_timestamp_seconds: "gauge",
      travis_allowlist_desired_entries: "gauge",
      travis_allowlist_last_run_changes: "gauge",
      travis_allowlist_last_run_duration_seconds: "gauge",
      travis_allowlist_instance_in_sync: "gauge",
      travis_allowlist_pending_removals: "gauge",
      travis_allowlist_source_up: "gauge",
      travis_allowlist_last_run_held: "gauge",
      travis_allowlist_runs_total: "counter",
      travis_allowlist_guard_holds_total: "counter",
      travis_allowlist_source_failures_total: "counter",
      travis_allowlist_instance_restarts_total: "counter",
    });
    expect(sample(series, "travis_allowlist_last_run_timestamp_seconds")).toBe(SECONDS);
    expect(sample(series, "travis_allowlist_desired_entries")).toBe(55);
    expect(sample(series, "travis_allowlist_last_run_changes", { op: "add" })).toBe(1);
    expect(sample(series, "travis_allowlist_last_run_duration_seconds")).toBe(1.5);
    expect(sample(series, "travis_allowlist_instance_in_sync", { target: "tcp://a:9999" })).toBe(1);
    expect(sample(series, "travis_allowlist_instance_in_sync", { target: "tcp://b:9999" })).toBe(0);
    expect(sample(series, "travis_allowlist_pending_removals", { target: "tcp://a:9999" })).toBe(1);
    expect(sample(series, "travis_allowlist_source_up", { source: "travis-dns" })).toBe(1);
    expect(sample(series, "travis_allowlist_source_up", { source: "feed" })).toBe(0);
    expect(sample(series, "travis_allowlist_source_failures_total", { source: "feed" })).toBe(1);
    expect(sample(series, "travis_allowlist_source_failures_total", { source: "travis-dns" })).toBe(0);
    expect(sample(series, "travis_allowlist_runs_total", { outcome: "failed" })).toBe(1);
    expect(sample(series, "travis_allowlist_runs_total", { outcome: "ok" })).toBe(0);
    expect(sample(series, "travis_allowlist_guard_holds_total")).toBe(0);
    // The daemon exposes 0 until a run succeeds, so "no success yet" alerts fire.
    expect(sample(series, "travis_allowlist_last_success_timestamp_seconds")).toBe(0);
    expect(metrics.lastSuccess()).toBeUndefined();
  });

  it("counts runs by outcome and holds across runs in the daemon", async () => {
    const metrics = createMetrics({ scrubber: new Scrubber() });
    metrics.observe(runResult({ outcome: "held", held: { guard: "maxRemovals", message: "m", trips: [] } }), FINISHED);
    metrics.observe(runResult({ outcome: "held", held: { guard: "maxRemovals", message: "m", trips: [] } }), FINISHED);
    metrics.observe(runResult({ outcome: "in-sync" }), FINISHED);
    const series = parseExposition(await metrics.text());
    expect(sample(series, "travis_allowlist_runs_total", { outcome: "held" })).toBe(2);
    expect(sample(series, "travis_allowlist_runs_total", { outcome: "ok" })).toBe(1);
    expect(sample(series, "travis_allowlist_guard_holds_total")).toBe(2);
    expect(sample(series, "travis_allowlist_last_run_held")).toBe(0);
  });

  it("a run whose sources failed changes neither the desired count nor the instances' state: nothing was compared", async () => {
    const metrics = createMetrics({ scrubber: new Scrubber() });
    metrics.observe(
      runResult({ desired: { count: 55, digest: "sha256:x" }, instances: [instanceResult({ status: "in-sync" })], outcome: "in-sync" }),
      FINISHED,
    );
    metrics.observe(
      runResult({
        desired: { count: 0, digest: null },
        sources: [{ name: "travis-dns", type: "dns", status: "failed", count: 0, durationMs: 1 }],
        instances: [instanceResult({ status: "failed", errorCode: "E_NOT_CONTACTED", add: [], remove: [] })],
        outcome: "failed",
      }),
      FINISHED,
    );
    const series = parseExposition(await metrics.text());
    expect(sample(series, "travis_allowlist_desired_entries")).toBe(55);
    expect(sample(series, "travis_allowlist_instance_in_sync", { target: "unix:///run/haproxy/admin.sock" })).toBe(1);
    expect(sample(series, "travis_allowlist_source_up", { source: "travis-dns" })).toBe(0);
  });

  it("one-shot: gauges about the last run only, no counters, last success only once a run succeeded", async () => {
    const metrics = createMetrics({ oneShot: true, scrubber: new Scrubber() });
    metrics.observe(runResult({ outcome: "held", held: { guard: "maxRemovals", message: "m", trips: [] } }), FINISHED);
    let series = parseExposition(await metrics.text());
    expect([...series.values()].filter((s) => s.type === "counter")).toEqual([]);
    expect(series.has("travis_allowlist_last_success_timestamp_seconds")).toBe(false);
    expect(sample(series, "travis_allowlist_last_run_held")).toBe(1);
    metrics.observe(runResult({ outcome: "in-sync" }), FINISHED);
    series = parseExposition(await metrics.text());
    expect(sample(series, "travis_allowlist_last_success_timestamp_seconds")).toBe(SECONDS);
    expect(sample(series, "travis_allowlist_last_run_held")).toBe(0);
    expect(metrics.lastSuccess()).toBe(SECONDS);
  });
});

describe("metrics and secrets", () => {
  it("only label values are scrubbed: a secret that is a word of a metric name (travis) leaves the names whole", async () => {
    const metrics = createMetrics({ scrubber: new Scrubber(["travis", "sockdir-secret-31"]) });
    metrics.observe(
      runResult({
        instances: [instanceResult({ target: "unix:///run/sockdir-secret-31/admin.sock", status: "applied" })],
        sources: [{ name: "travis", type: "static", status: "ok", count: 1, durationMs: 1 }],
        outcome: "in-sync",
      }),
      FINISHED,
    );
    metrics.restartSeen("unix:///run/sockdir-secret-31/admin.sock");
    const text = await metrics.text();
    expect(text).not.toContain("***_allowlist");
    expect(text).toContain("# TYPE travis_allowlist_instance_in_sync gauge\n");
    expect(text).toContain('travis_allowlist_instance_in_sync{target="unix:///run/***/admin.sock"} 1\n');
    expect(text).toContain('travis_allowlist_source_up{source="***"} 1\n');
    expect(text).toContain('travis_allowlist_instance_restarts_total{target="unix:///run/***/admin.sock"} 1\n');
    expect(text).not.toContain("sockdir-secret-31");
  });
});
