import { spawnSync } from "node:child_process";
import { chmod, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AllowlistError } from "../../src/errors.js";
import { pushMetrics, writeTextfile } from "../../src/metrics/export.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import type { RunOutcome } from "../../src/model/result.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { parseExposition, sample } from "../support/prometheus.js";
import { instanceResult, runResult } from "../support/results.js";
import { tempDir } from "../support/tmp.js";
import { writeFileAtomic } from "../../src/util/atomic.js";
import { Scrubber } from "../../src/util/secrets.js";
import { childEnv } from "../support/cli.js";

/** For the exchanges whose replies carry nothing from the config. */
const knowsNoSecret = { scrubber: new Scrubber() };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function textOf(outcome: RunOutcome, at: Date): Promise<string> {
  const metrics = createMetrics({ oneShot: true, scrubber: new Scrubber() });
  metrics.observe(runResult({ outcome, ...(outcome === "held" ? { held: { guard: "maxRemovals", message: "m", trips: [] } } : {}) }), at);
  return metrics.text();
}

describe("one-shot metrics export", () => {
  it("push-adds the exposition text to the Pushgateway job", async () => {
    const gateway: HttpReceiver = await startReceiver([200]);
    cleanups.push(gateway.stop);
    const text = await textOf("in-sync", new Date("2026-11-26T18:00:00Z"));
    await pushMetrics(`${gateway.url}/`, text, 5000, knowsNoSecret);
    expect(gateway.requests).toHaveLength(1);
    expect(gateway.requests[0]).toMatchObject({ method: "POST", path: "/metrics/job/travis_allowlist", body: text });
    expect(gateway.requests[0]?.headers["content-type"]).toContain("text/plain; version=0.0.4");
    expect(gateway.requests[0]?.body).toContain("travis_allowlist_last_success_timestamp_seconds 1795716000\n");
  });

  it("a failed run's push leaves out the last-success gauge", async () => {
    const gateway = await startReceiver([200]);
    cleanups.push(gateway.stop);
    await pushMetrics(gateway.url, await textOf("held", new Date()), 5000, knowsNoSecret);
    expect(gateway.requests[0]?.body).toContain("travis_allowlist_last_run_held 1\n");
    expect(gateway.requests[0]?.body).not.toContain("_total");
    expect(gateway.requests[0]?.body).not.toContain("travis_allowlist_last_success_timestamp_seconds");
  });

  it("reports a Pushgateway error clearly", async () => {
    const gateway = await startReceiver([400]);
    cleanups.push(gateway.stop);
    await expect(pushMetrics(gateway.url, "x 1\n", 5000, knowsNoSecret)).rejects.toMatchObject({
      code: "E_METRICS_PUSH",
      message: expect.stringContaining("HTTP 400"),
    });
  });

  it("a gateway that floods its error reply fails the push with E_METRICS_PUSH after reading a bounded start, control characters escaped", async () => {
    let written = 0;
    const gateway = await startReceiver([200], (_req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      const block = Buffer.from(`\u001b[2J${"x".repeat(64 * 1024)}`);
      const pump = () => {
        while (!res.destroyed && res.write(block)) written += block.length;
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    });
    cleanups.push(gateway.stop);
    const failure = (await pushMetrics(gateway.url, "x 1\n", 10_000, knowsNoSecret).catch((err: unknown) => err)) as AllowlistError;
    expect(failure).toMatchObject({ code: "E_METRICS_PUSH", message: expect.stringContaining("HTTP 500: \\x1b[2Jxxx") });
    expect(failure.message.length).toBeLessThan(400);
    // The push stopped reading long before the flood could fill memory.
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it.each([
    ["never answers", "hang" as const],
    ["answers its headers, then stalls", "stall" as const],
  ])("a gateway that %s fails the push with E_METRICS_PUSH at the deadline", async (_name, behaviour) => {
    const gateway = await startReceiver([behaviour === "hang" ? "hang" : 200], (_req, res) => {
      if (behaviour === "hang") return false;
      res.writeHead(200, { "content-type": "text/plain", "content-length": "100" });
      res.write("partial");
    });
    cleanups.push(gateway.stop);
    await expect(pushMetrics(gateway.url, "x 1\n", 300, knowsNoSecret)).rejects.toMatchObject({
      code: "E_METRICS_PUSH",
      message: expect.stringContaining("no complete answer within 300 ms"),
    });
  });

  it("writes the textfile atomically and carries the last success over a failed run", async () => {
    const dir = await tempDir("ta-textfile-");
    cleanups.push(dir.remove);
    const path = join(dir.path, "travis-allowlist.prom");
    await writeTextfile(path, await textOf("in-sync", new Date("2026-11-26T18:00:00Z")));
    await writeTextfile(path, await textOf("failed", new Date("2026-11-26T18:10:00Z")));
    const text = await readFile(path, "utf8");
    expect(text).toContain("travis_allowlist_last_run_timestamp_seconds 1795716600\n");
    expect(text).toContain("travis_allowlist_last_success_timestamp_seconds 1795716000\n");
    expect(text.match(/# TYPE travis_allowlist_last_success_timestamp_seconds gauge/g)).toHaveLength(1);
  });

  it("a run whose sources failed exports no desired count or instance state, so both the push and the textfile keep the last good ones", async () => {
    const dir = await tempDir("ta-textfile-");
    cleanups.push(dir.remove);
    const path = join(dir.path, "travis-allowlist.prom");
    const good = createMetrics({ oneShot: true, scrubber: new Scrubber() });
    good.observe(runResult({ outcome: "in-sync", desired: { count: 4, digest: "sha256:x" }, instances: [instanceResult({ status: "in-sync" })] }), new Date());
    await writeTextfile(path, await good.text());
    const blind = createMetrics({ oneShot: true, scrubber: new Scrubber() });
    blind.observe(
      runResult({
        outcome: "failed",
        desired: { count: 0, digest: null },
        sources: [{ name: "travis-dns", type: "dns", status: "failed", count: 0, durationMs: 1 }],
        instances: [instanceResult({ status: "failed", errorCode: "E_NOT_CONTACTED" })],
      }),
      new Date(),
    );
    const pushed = parseExposition(await blind.text());
    expect(["travis_allowlist_desired_entries", "travis_allowlist_instance_in_sync", "travis_allowlist_pending_removals"].filter((n) => pushed.has(n))).toEqual(
      [],
    );
    expect(sample(pushed, "travis_allowlist_source_up", { source: "travis-dns" })).toBe(0);
    await writeTextfile(path, await blind.text());
    const kept = parseExposition(await readFile(path, "utf8"));
    expect(sample(kept, "travis_allowlist_desired_entries")).toBe(4);
    expect(sample(kept, "travis_allowlist_instance_in_sync", { target: "unix:///run/haproxy/admin.sock" })).toBe(1);
    expect(sample(kept, "travis_allowlist_source_up", { source: "travis-dns" })).toBe(0);
  });

  it("directories created for the textfile are 0755 whatever the umask, so node_exporter (another user) reads it; other private directories stay 0700", async () => {
    const dir = await tempDir("ta-textfile-");
    cleanups.push(dir.remove);
    // The directory node_exporter already reads from; the tool creates what is below it.
    await chmod(dir.path, 0o755);
    const path = join(dir.path, "collector", "travis", "travis-allowlist.prom");
    const umask = process.umask(0o077);
    try {
      await writeTextfile(path, "x 1\n");
      await writeFileAtomic(join(dir.path, "state", "private", "state.json"), "{}");
    } finally {
      process.umask(umask);
    }
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    expect(await Promise.all([join(dir.path, "collector"), join(dir.path, "collector", "travis")].map(mode))).toEqual([0o755, 0o755]);
    expect(await mode(path)).toBe(0o644);
    expect(await Promise.all([join(dir.path, "state"), join(dir.path, "state", "private")].map(mode))).toEqual([0o700, 0o700]);
    // Read as another user, as node_exporter does (switching users needs root).
    if (process.getuid?.() !== 0) return;
    const asNobody = spawnSync(process.execPath, ["-e", `process.stdout.write(require("node:fs").readFileSync(${JSON.stringify(path)}, "utf8"))`], {
      uid: 65534,
      gid: 65534,
      env: childEnv(),
    });
    expect({ status: asNobody.status, stdout: asNobody.stdout.toString(), stderr: asNobody.stderr.toString() }).toEqual({
      status: 0,
      stdout: "x 1\n",
      stderr: "",
    });
  });

  it("a gateway's error reply is scrubbed whole before it is cut: a secret across the cut leaves no prefix behind", async () => {
    const secret = "gwecho-secret-0d4f71";
    const gateway = await startReceiver([200], (_req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`${"y".repeat(196)}${secret}`);
    });
    cleanups.push(gateway.stop);
    const failure = (await pushMetrics(gateway.url, "x 1\n", 5000, { scrubber: new Scrubber([secret]) }).catch((err: unknown) => err)) as AllowlistError;
    expect(failure.message).toMatch(/HTTP 500: y{196}\*\*\*$/);
    expect(failure.message).not.toContain(secret.slice(0, 3));
  });

  it("sends the Pushgateway URL's credentials as Basic auth", async () => {
    const gateway = await startReceiver([200]);
    cleanups.push(gateway.stop);
    await pushMetrics(`http://pusher:pg%23pw@${gateway.url.slice("http://".length)}/prefix/`, "x 1\n", 5000, knowsNoSecret);
    expect(gateway.requests[0]).toMatchObject({ path: "/prefix/metrics/job/travis_allowlist", body: "x 1\n" });
    expect(gateway.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from("pusher:pg#pw").toString("base64")}`);
  });
});
