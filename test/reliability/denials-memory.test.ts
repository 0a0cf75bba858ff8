import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ShownDenials } from "../../src/cli/render/denials.js";
import { MAX_DENIED_CLIENTS } from "../../src/haproxy/table-read.js";
import { runCli } from "../support/cli.js";
import { DENIED_TABLE, denialsConfig, fillDeniedTable, haproxyWithDeniedTable } from "../support/denied-table.js";
import { type RunningDnsServer, startDnsServer } from "../support/dns-server.js";
import { travisAddresses } from "../support/fixtures.js";
import type { RunningHaproxy } from "../support/haproxy.js";
import { imageNodeOptions, runCliMeasured } from "../support/measured-cli.js";
import { recordFigure } from "../support/reliability.js";
import { type TempDir, tempDir } from "../support/tmp.js";

/** The container's memory limit, and what is left of it for the rest of a run (larger replies, more instances) once a full table is reported. */
const LIMIT_MIB = 256;
const MARGIN_MIB = 56;
const AS_DEPLOYED = imageNodeOptions();

let dir: TempDir;
let dns: RunningDnsServer;
let h: RunningHaproxy;
let config: string;

beforeAll(async () => {
  dir = await tempDir("ta-denials-memory-");
  dns = await startDnsServer({ zones: { "nat.travisci.net": { A: travisAddresses() } } });
  h = await haproxyWithDeniedTable(join(dir.path, "haproxy"));
  await fillDeniedTable(h, MAX_DENIED_CLIENTS);
  config = await denialsConfig(dir.path, h, dns);
  // The published set live, as in production: each client is then looked up against a real live list.
  const sync = await runCli(["--config", config, "--log-level", "warn", "sync"]);
  expect(sync.code, sync.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  await h?.stop();
  await dns?.stop();
  await dir?.remove();
});

describe("denials over the most denied clients one run keeps, within a 256 MiB container", () => {
  it("reports all 100,000 clients as JSON with the image's heap under the limit, with margin", async () => {
    const out = join(dir.path, "denials.json");
    const run = await runCliMeasured(["--config", config, "--output", "json", "--log-level", "warn", "denials"], {
      timeoutMs: 120_000,
      nodeOptions: AS_DEPLOYED,
      stdoutFile: out,
    });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(await readFile(out, "utf8")) as ShownDenials;
    expect(report.tables).toMatchObject([{ table: DENIED_TABLE, entries: MAX_DENIED_CLIENTS, truncated: false, error: null }]);
    expect(report.denials).toHaveLength(MAX_DENIED_CLIENTS);
    expect(new Set(report.denials.map((d) => d.address)).size).toBe(MAX_DENIED_CLIENTS);
    expect(report.denials[0]).toMatchObject({ reason: "unpublished", requests: 50, current: true });
    expect(run.peakRssMib).toBeLessThan(LIMIT_MIB - MARGIN_MIB);
    recordFigure("denials-json-peak-rss-mib", Math.round(run.peakRssMib));
    recordFigure("denials-json-seconds", Math.round(run.seconds * 10) / 10);
  }, 240_000);

  it("shows a person the most urgent denials and counts the rest, under the limit, with margin", async () => {
    const run = await runCliMeasured(["--config", config, "--log-level", "warn", "denials"], { timeoutMs: 120_000, nodeOptions: AS_DEPLOYED });
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toMatch(/^… and 99900 more denied clients: --output json lists every one$/);
    expect(lines.length).toBeLessThan(1000);
    expect(run.peakRssMib).toBeLessThan(LIMIT_MIB - MARGIN_MIB);
    recordFigure("denials-text-peak-rss-mib", Math.round(run.peakRssMib));
  }, 240_000);
});

describe("a table of a million denied clients", () => {
  const MILLION = 1_000_000;
  let big: RunningHaproxy;
  let bigConfig: string;

  beforeAll(async () => {
    big = await haproxyWithDeniedTable(join(dir.path, "million"), "1100k");
    await fillDeniedTable(big, MILLION);
    bigConfig = await denialsConfig(join(dir.path, "million"), big, dns);
  }, 240_000);

  afterAll(async () => {
    await big?.stop();
  });

  it("is read as a stream: every entry counted, the clients one run keeps reported, truncated with a warning, under the limit", async () => {
    const out = join(dir.path, "million.json");
    const run = await runCliMeasured(["--config", bigConfig, "--output", "json", "--log-level", "warn", "denials"], {
      timeoutMs: 180_000,
      nodeOptions: AS_DEPLOYED,
      stdoutFile: out,
    });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(await readFile(out, "utf8")) as ShownDenials;
    expect(report.tables).toMatchObject([{ table: DENIED_TABLE, entries: MILLION, truncated: true, error: null }]);
    expect(report.denials).toHaveLength(MAX_DENIED_CLIENTS);
    expect(run.stderr).toContain(`more than ${MAX_DENIED_CLIENTS} denied clients on one instance: only the first are classified`);
    expect(run.peakRssMib).toBeLessThan(LIMIT_MIB - MARGIN_MIB);
    recordFigure("denials-million-peak-rss-mib", Math.round(run.peakRssMib));
    recordFigure("denials-million-seconds", Math.round(run.seconds * 10) / 10);
  }, 240_000);
});
