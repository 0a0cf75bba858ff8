/**
 * `npm run bench`: the tool against the scripts people use today, on real
 * HAProxy processes on loopback. Each figure is measured several times and
 * reported as median and spread; results go to bench/results/latest.json.
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { readFile } from "node:fs/promises";
import { parseConfig } from "../src/config/parse.js";
import type { Config } from "../src/config/schema.js";
import { HaproxyInstance } from "../src/haproxy/runtime.js";
import { computePlan, findDuplicates } from "../src/plan/plan.js";
import { ownershipOf } from "../src/reconcile/ownership.js";
import { checkExposures } from "../src/reconcile/exposure-check.js";
import { configDocument } from "../test/support/config.js";
import { startDnsServer } from "../test/support/dns-server.js";
import { travisAddresses } from "../test/support/fixtures.js";
import { haproxyVersion, liveEntries, type RunningHaproxy, startHaproxy } from "../test/support/haproxy.js";
import { startReceiver } from "../test/support/http-receiver.js";
import { tempDir } from "../test/support/tmp.js";
import {
  type DenialsSample,
  denialsConfig,
  fillDeniedTable,
  firstDenialToAdmission,
  haproxyWithDeniedTable,
  imageNodeOptions,
  measuredDenials,
} from "./denials.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLI = join(ROOT, "dist/cli/main.js");
const N = 100_000;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PAYLOAD_LIMIT = 8000;
const SECTIONS = ["load", "churn", "fleet", "planning", "denials"] as const;
type Section = (typeof SECTIONS)[number];

/** `npm run bench -- churn denials` measures only the sections named; every section by default. */
function selectedSections(args: string[]): Set<Section> {
  const unknown = args.filter((a) => !(SECTIONS as readonly string[]).includes(a));
  if (unknown.length > 0) throw new Error(`unknown bench section ${unknown.join(", ")}: choose from ${SECTIONS.join(", ")}`);
  return new Set(args.length === 0 ? SECTIONS : (args as Section[]));
}

interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number;
}

function summarise(samples: number[]): Figure {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median: round(median), min: round(sorted[0] as number), max: round(sorted.at(-1) as number), runs: samples.length };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

async function measure(runs: number, fn: () => Promise<number>, what = ""): Promise<Figure> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await fn());
  if (what) log(`  ${what}: ${samples.map((x) => x.toFixed(3)).join(", ")} s`);
  return summarise(samples);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

const benchStart = Date.now();

function log(text: string): void {
  process.stderr.write(`[${((Date.now() - benchStart) / 1000).toFixed(0)} s] ${text}\n`);
}

/** /24s in 10.0.0.0/8-free public space: 100,000 distinct networks. */
function networks(count: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + offset;
    return `${34 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}.0/24`;
  });
}

function run(command: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function clear(h: RunningHaproxy): Promise<void> {
  await h.command(`clear map ${h.listFile}`);
}

async function fill(h: RunningHaproxy, entries: string[]): Promise<void> {
  await clear(h);
  const instance = await HaproxyInstance.connect(h.unixTarget, { timeoutMs: 30_000 });
  const { snapshot } = await instance.readList("map", h.listFile);
  await instance.replace(
    "map",
    h.listFile,
    entries.map((key) => ({ key, value: "travis" })),
    snapshot,
  );
  await instance.close();
}

/** The tool's apply phase alone, in process: read live, plan, verified transaction. */
async function applyOnly(h: RunningHaproxy, desired: string[]): Promise<number> {
  const instance = await HaproxyInstance.connect(h.unixTarget, { timeoutMs: 30_000 });
  try {
    return await timed(async () => {
      const live = await instance.readList("map", h.listFile);
      const plan = computePlan(live.entries, desired, { kind: "map", value: "travis" });
      await instance.replace("map", h.listFile, plan.content, live.snapshot);
    });
  } finally {
    await instance.close();
  }
}

/**
 * The checks of "Who gets in" that a churn sync adds, alone: duplicates found
 * while planning, then HAProxy's matcher asked about the removed entries (at
 * most 2,000) and every live entry scanned for a too-broad one.
 */
async function whoGetsInChecks(h: RunningHaproxy, config: Config, removed: string[], settled: ReadonlySet<string>): Promise<number> {
  const instance = await HaproxyInstance.connect(h.unixTarget, { timeoutMs: 30_000 });
  try {
    const live = await instance.readList("map", h.listFile);
    return await timed(async () => {
      findDuplicates(live.entries, ownershipOf(config), settled);
      const { exposures } = await checkExposures(instance, config, { removed, settled, live: live.entries });
      if (exposures.length > 0) throw new Error(`unexpected exposures: ${JSON.stringify(exposures.slice(0, 3))}`);
    });
  } finally {
    await instance.close();
  }
}

/** The lower bound: one socat stream with prepare, 8 KB payloads and commit, as HAProxy's own client would send. */
async function socatStream(h: RunningHaproxy, entries: string[]): Promise<number> {
  const listing = await h.command("show map");
  const next = Number(/next_ver=(\d+)/.exec(listing)?.[1] ?? 0) + 1;
  const head = `add map @${next} ${h.listFile} <<\n`;
  const chunks: string[] = [];
  let lines: string[] = [];
  let size = head.length + 1;
  for (const key of entries) {
    const line = `${key} travis\n`;
    if (size + line.length > PAYLOAD_LIMIT) {
      chunks.push(`${head}${lines.join("")}\n`);
      lines = [];
      size = head.length + 1;
    }
    lines.push(line);
    size += line.length;
  }
  if (lines.length) chunks.push(`${head}${lines.join("")}\n`);
  const stream = `prompt\nprepare map ${h.listFile}\n${chunks.join("")}commit map @${next} ${h.listFile}\nquit\n`;
  const socket = h.unixTarget.slice("unix://".length);
  return timed(() => run("socat", ["-t", "30", "-", `UNIX-CONNECT:${socket}`], stream));
}

/** The common script: one socat per `add map` (or `del map`), timed on a sample and scaled. */
async function socatPerEntry(h: RunningHaproxy, commands: string[], scaleTo: number): Promise<number> {
  const socket = h.unixTarget.slice("unix://".length);
  const seconds = await timed(async () => {
    for (const command of commands) await run("socat", ["-", `UNIX-CONNECT:${socket}`], `${command}\n`);
  });
  return (seconds / commands.length) * scaleTo;
}

/** Rewrite the map file and reload (master-worker), until the new worker serves the new entries. */
async function rewriteAndReload(h: RunningHaproxy, entries: string[]): Promise<number> {
  return timed(async () => {
    // Written aside and renamed, as a careful script would: a worker still loading the last reload never reads half a file.
    await writeFile(`${h.listFile}.new`, entries.map((e) => `${e} travis\n`).join(""));
    await rename(`${h.listFile}.new`, h.listFile);
    await h.reload();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const listing = await h.command("show map").catch(() => "");
      if (new RegExp(`entry_cnt=${entries.length}\\b`).test(listing)) break;
      if (Date.now() > deadline) throw new Error(`the reloaded worker never held ${entries.length} entries: ${listing.slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  });
}

async function cliSync(config: string, extra: string[] = []): Promise<number> {
  return timed(async () => {
    const result = await run(process.execPath, [CLI, "--config", config, "--log-level", "warn", "sync", ...extra]);
    if (result.code !== 0) throw new Error(`sync exited ${result.code}: ${result.stderr.slice(-800)}`);
  });
}

/** Planning alone, in a fresh process: CPU time and peak RSS. */
async function planningAlone(): Promise<{ cpuSeconds: number; peakRssMb: number; wallSeconds: number }> {
  const script = `
    const { buildDesiredSet } = await import(${JSON.stringify(join(ROOT, "dist/sources/desired.js"))});
    const { computePlan } = await import(${JSON.stringify(join(ROOT, "dist/plan/plan.js"))});
    const net = (n) => (34 + (n >> 16)) + "." + ((n >> 8) & 255) + "." + (n & 255) + ".0/24";
    const values = Array.from({ length: ${N} }, (_, i) => net(i));
    const live = Array.from({ length: ${N} }, (_, i) => ({ ref: "0x" + i.toString(16), key: net(i + ${N / 10}), value: "travis" }));
    const cpu = process.cpuUsage();
    const started = performance.now();
    const desired = await buildDesiredSet([{ name: "feed", type: "http", published: [{ provenance: { source: "feed" }, values }], durationMs: 0 }], { exclude: [], minPrefixV4: 16, minPrefixV6: 32, allowReserved: false });
    const plan = computePlan(live, desired.entries.map((e) => e.cidr.text), { kind: "map", value: "travis" });
    const used = process.cpuUsage(cpu);
    if (plan.add.length !== ${N / 10} || plan.remove.length !== ${N / 10}) throw new Error("wrong plan " + plan.add.length + " " + plan.remove.length);
    console.log(JSON.stringify({ cpuSeconds: (used.user + used.system) / 1e6, wallSeconds: (performance.now() - started) / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
  `;
  const result = await run(process.execPath, ["--input-type=module", "-e", script]);
  if (result.code !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as { cpuSeconds: number; peakRssMb: number; wallSeconds: number };
}

async function main(): Promise<void> {
  const sections = selectedSections(process.argv.slice(2));
  if ((await run("socat", ["-V"])).code !== 0) throw new Error("socat is needed for the baselines: apt-get install -y socat");
  const dir = (await tempDir("ta-bench-")).path;
  const version = haproxyVersion();
  log(`HAProxy ${version}, Node ${process.version}, ${cpus().length} cores; ${RUNS} runs per figure; sections ${[...sections].join(", ")}`);
  const results: Record<string, unknown> = {
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, haproxy: version, node: process.version, runs: RUNS },
    measuredAt: new Date().toISOString(),
  };
  if (sections.has("load") || sections.has("churn")) await loadAndChurn(dir, sections, results);
  if (sections.has("fleet")) await fleetAndStartup(dir, results);
  if (sections.has("planning")) await planningFigures(results);
  if (sections.has("denials")) await denials(dir, results);
  results.ratios = ratios(results);

  const out = join(ROOT, "bench/results");
  mkdirSync(out, { recursive: true });
  // A run of some sections only keeps the whole run's figures in latest.json.
  const name = sections.size === SECTIONS.length ? "latest.json" : `latest-${[...sections].join("-")}.json`;
  writeFileSync(join(out, name), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

/** a, b: a 100,000-entry map loaded cold and churned by 10%. */
async function loadAndChurn(dir: string, sections: ReadonlySet<Section>, results: Record<string, unknown>): Promise<void> {
  const all = networks(N);
  const churned = [...all.slice(0, N * 0.9), ...networks(N / 10, N)];
  const feed = await startReceiver([404], (req, res) => {
    const body = req.path === "/all.txt" ? all : req.path === "/churned.txt" ? churned : undefined;
    if (!body) return false;
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`${body.join("\n")}\n`);
  });
  const bigDir = join(dir, "big");
  mkdirSync(bigDir);
  const h = await startHaproxy({ kind: "map", masterWorker: true, dir: bigDir });
  const guards = { maxAdditions: 1_000_000, maxRemovals: 1_000_000, minPrefixV4: 8, maxAddresses: 100_000_000 };
  const feedConfig = async (name: string, path: string) => {
    const document = configDocument({ sockets: [h.unixTarget], map: h.listFile, auditPath: join(dir, "audit.jsonl"), extra: { guards } });
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      stringify({ ...document, sources: [{ name: "feed", type: "http", url: `${feed.url}${path}`, format: "lines", maxBytes: 50_000_000 }] }),
    );
    return file;
  };
  const allConfig = await feedConfig("all", "/all.txt");
  const churnConfig = await feedConfig("churn", "/churned.txt");
  if (sections.has("load")) await coldLoad(h, allConfig, all, results);
  if (sections.has("churn")) await churn(h, churnConfig, all, churned, results);
  await h.stop();
  await feed.stop();
}

async function coldLoad(h: RunningHaproxy, allConfig: string, all: string[], results: Record<string, unknown>): Promise<void> {
  log("a. cold load: 100,000 /24 entries into an empty map");
  const coldTool = await measure(
    RUNS,
    async () => {
      await clear(h);
      return cliSync(allConfig);
    },
    "coldTool",
  );
  if ((await liveEntries(h)).length !== N) throw new Error("cold load incomplete");
  const coldApply = await measure(
    RUNS,
    async () => {
      await clear(h);
      return applyOnly(h, all);
    },
    "coldApply",
  );
  const coldLower = await measure(
    RUNS,
    async () => {
      await clear(h);
      return socatStream(h, all);
    },
    "coldLower",
  );
  await clear(h);
  const perEntrySample = all.slice(0, 2000).map((e) => `add map ${h.listFile} ${e} travis`);
  const coldPerEntry = await measure(
    2,
    async () => {
      await clear(h);
      return socatPerEntry(h, perEntrySample, N);
    },
    "coldPerEntry",
  );
  const coldReload = await measure(3, () => rewriteAndReload(h, all), "coldReload");
  results.coldLoad = { tool: coldTool, toolApplyOnly: coldApply, lowerBound: coldLower, perEntryScript: coldPerEntry, rewriteAndReload: coldReload };
}

async function churn(h: RunningHaproxy, churnConfig: string, all: string[], churned: string[], results: Record<string, unknown>): Promise<void> {
  log("b. churn: 10% of a 100,000-entry map replaced");
  const churnTool = await measure(
    RUNS,
    async () => {
      await fill(h, all);
      return cliSync(churnConfig);
    },
    "churnTool",
  );
  const churnApply = await measure(
    RUNS,
    async () => {
      await fill(h, all);
      return applyOnly(h, churned);
    },
    "churnApply",
  );
  const churnLower = await measure(
    RUNS,
    async () => {
      await fill(h, all);
      return socatStream(h, churned);
    },
    "churnLower",
  );
  await fill(h, all);
  const churnSample = [
    ...churned.slice(N * 0.9, N * 0.9 + 1000).map((e) => `add map ${h.listFile} ${e} travis`),
    ...all.slice(0, 1000).map((e) => `del map ${h.listFile} ${e}`),
  ];
  const churnPerEntry = await measure(2, () => socatPerEntry(h, churnSample, N / 5), "churnPerEntry");
  const parsedChurn = parseConfig(await readFile(churnConfig, "utf8"), {}).config;
  if (!parsedChurn) throw new Error("the churn config does not parse");
  await fill(h, churned);
  const settled = new Set(churned);
  const churnChecks = await measure(RUNS, () => whoGetsInChecks(h, parsedChurn, all.slice(N * 0.9), settled), "churnChecks");
  const churnReload = await measure(3, () => rewriteAndReload(h, churned), "churnReload");
  results.churn = {
    tool: churnTool,
    toolApplyOnly: churnApply,
    lowerBound: churnLower,
    perEntryScript: churnPerEntry,
    rewriteAndReload: churnReload,
    whoGetsInChecks: churnChecks,
  };
}

/** c, e: the Travis set into 20 instances against 1, and the CLI's start-up. */
async function fleetAndStartup(dir: string, results: Record<string, unknown>): Promise<void> {
  log("c. fleet: the Travis set into 20 instances, against the same into 1");
  const travis = travisAddresses();
  const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: travis } } });
  const fleetDir = join(dir, "fleet");
  mkdirSync(fleetDir);
  const fleet: RunningHaproxy[] = [];
  for (let i = 0; i < 20; i++) {
    const own = join(fleetDir, `h${i}`);
    mkdirSync(own);
    fleet.push(await startHaproxy({ kind: "map", listFile: join(fleetDir, "travis.map"), dir: own }));
  }
  const fleetConfig = async (name: string, members: RunningHaproxy[]) => {
    const file = join(fleetDir, `${name}.yaml`);
    await writeFile(
      file,
      stringify(
        configDocument({
          resolver: dns.resolver,
          sockets: members.map((m) => m.unixTarget),
          map: join(fleetDir, "travis.map"),
          auditPath: join(fleetDir, `${name}-audit.jsonl`),
        }),
      ),
    );
    return file;
  };
  const one = await fleetConfig("one", fleet.slice(0, 1));
  const twenty = await fleetConfig("twenty", fleet);
  const clearFleet = () => Promise.all(fleet.map((m) => m.command(`clear map ${m.listFile}`)));
  const fleetOne = await measure(
    RUNS,
    async () => {
      await clearFleet();
      return cliSync(one);
    },
    "fleetOne",
  );
  const fleetTwenty = await measure(
    RUNS,
    async () => {
      await clearFleet();
      return cliSync(twenty);
    },
    "fleetTwenty",
  );
  results.fleet = { oneInstance: fleetOne, twentyInstances: fleetTwenty };

  // e. start-up
  log("e. CLI start-up: --help and a no-change sync of the Travis set");
  const help = await measure(RUNS * 2, () => timed(() => run(process.execPath, [CLI, "--help"])), "help");
  await cliSync(one);
  const noChange = await measure(RUNS, () => cliSync(one), "noChange");
  results.startup = { help, noChangeSync: noChange };
  await Promise.all(fleet.map((m) => m.stop()));
  await dns.stop();
}

async function planningFigures(results: Record<string, unknown>): Promise<void> {
  log("d. planning alone for 100,000 entries");
  const planning = [];
  for (let i = 0; i < RUNS; i++) planning.push(await planningAlone());
  results.planning = {
    cpuSeconds: summarise(planning.map((p) => p.cpuSeconds)),
    wallSeconds: summarise(planning.map((p) => p.wallSeconds)),
    peakRssMb: summarise(planning.map((p) => p.peakRssMb)),
  };
}

/**
 * f. `denials` over a denied clients' table of 100,000 entries (the most a run keeps), with
 * the recorded Travis set as the sources; g. in daemon mode, a runner Travis just published
 * from its first denial to its admission.
 */
async function denials(dir: string, results: Record<string, unknown>): Promise<void> {
  const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: travisAddresses() } } });
  log("f. denials over a 100,000-entry stick table");
  const tableDir = join(dir, "denials");
  const h = await haproxyWithDeniedTable(tableDir);
  const nodeOptions = await imageNodeOptions(ROOT);
  const defaults = [];
  const image = [];
  try {
    await fillDeniedTable(h, N);
    const config = await denialsConfig(tableDir, h, dns);
    await cliSync(config);
    for (let i = 0; i < RUNS; i++) defaults.push(await measuredDenials(config));
    for (let i = 0; i < RUNS && nodeOptions; i++) image.push(await measuredDenials(config, nodeOptions));
  } finally {
    await h.stop();
  }
  const figures = (samples: DenialsSample[], what: string) => {
    log(`  ${what}: ${samples.map((x) => `${x.seconds.toFixed(3)} s ${x.peakRssMib.toFixed(0)} MiB`).join(", ")}`);
    const wrong = samples.find((x) => x.entries !== N || x.denials !== N);
    if (wrong) throw new Error(`denials read ${wrong.entries} entries and reported ${wrong.denials}, not ${N}`);
    return {
      truncated: samples.some((x) => x.truncated),
      tool: summarise(samples.map((x) => x.seconds)),
      peakRssMib: summarise(samples.map((x) => x.peakRssMib)),
    };
  };
  results.denials = {
    entries: N,
    nodeDefaults: figures(defaults, "denials"),
    ...(nodeOptions ? { imageNodeOptions: { nodeOptions, ...figures(image, `denials, NODE_OPTIONS=${nodeOptions}`) } } : {}),
  };

  log("g. daemon: a newly published runner, from its first denial to its admission");
  const deadlineMs = 60_000;
  const latencies: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const seconds = await firstDenialToAdmission(join(dir, `daemon-${i}`), dns, `127.0.0.${30 + i}`, deadlineMs);
      if (seconds === null) throw new Error(`a denied published runner was not admitted within ${deadlineMs / 1000} s`);
      latencies.push(seconds);
    }
  } finally {
    await dns.stop();
  }
  log(`  first denial to admission: ${latencies.map((x) => x.toFixed(3)).join(", ")} s`);
  results.daemonDenialToAdmission = { watchInterval: "1s", seconds: summarise(latencies) };
}

/** Each ratio of figures measured in this run; those whose sections did not run are left out. */
function ratios(results: Record<string, unknown>): Record<string, number | undefined> {
  const cold = results.coldLoad as Record<string, Figure> | undefined;
  const churn = results.churn as Record<string, Figure> | undefined;
  const fleet = results.fleet as Record<string, Figure> | undefined;
  const denied = results.denials as { nodeDefaults: { tool: Figure } } | undefined;
  const ratio = (a: Figure | undefined, b: Figure | undefined) => (a && b ? round(a.median / b.median) : undefined);
  return {
    coldToolVsLowerBound: ratio(cold?.tool, cold?.lowerBound),
    coldApplyVsLowerBound: ratio(cold?.toolApplyOnly, cold?.lowerBound),
    coldPerEntryVsTool: ratio(cold?.perEntryScript, cold?.tool),
    churnToolVsLowerBound: ratio(churn?.tool, churn?.lowerBound),
    churnApplyVsLowerBound: ratio(churn?.toolApplyOnly, churn?.lowerBound),
    churnPerEntryVsTool: ratio(churn?.perEntryScript, churn?.tool),
    churnChecksShareOfSync: ratio(churn?.whoGetsInChecks, churn?.tool),
    fleetTwentyVsOne: ratio(fleet?.twentyInstances, fleet?.oneInstance),
    denialsShareOfChurnSync: ratio(denied?.nodeDefaults.tool, churn?.tool),
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
