/**
 * `npm run demo`: the real job against a throwaway HAProxy and a local DNS
 * server that answers with recorded Travis data. Touches only loopback.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../test/support/cli.js";
import { writeConfig } from "../test/support/config.js";
import { startDnsServer } from "../test/support/dns-server.js";
import { travisAddresses } from "../test/support/fixtures.js";
import { deniedClientsRecipe, HAPROXY_BIN, liveEntries, type RunningHaproxy, startHaproxy } from "../test/support/haproxy.js";

const NAME = "nat.travisci.net";
const BUILD = "127.0.0.21";
const STRANGER = "127.0.0.66";
/** Never published, never admitted: a client the allowlist should turn away. */
const OUTSIDER = "127.0.0.77";
/** The runner Travis publishes next, once the recorded DNS data gains it. */
const NEW_RUNNER = "127.0.0.22";
const TABLE = "st_denied";

function step(title: string): void {
  process.stdout.write(`\n=== ${title}\n`);
}

/** Long runs of `+ entry` lines cut to their first few, so that the plan of the whole Travis set fits on a screen. */
function shortened(text: string, keep = 3): string {
  const out: string[] = [];
  let run: string[] = [];
  const flush = () => {
    out.push(...(run.length > keep + 1 ? [...run.slice(0, keep), `  … (+${run.length - keep} more)`] : run));
    run = [];
  };
  for (const line of text.split("\n")) {
    if (line.startsWith("  + ")) {
      run.push(line);
      continue;
    }
    flush();
    out.push(line);
  }
  flush();
  return out.join("\n");
}

/** Runs the CLI with the demo's config, shows what it printed, and fails the demo on an exit code it did not expect. */
async function show(config: string, args: string[], expectedCode = 0): Promise<void> {
  step(`travis-allowlist ${args.join(" ")}`);
  const run = await runCli(["--config", config, "--log-level", "error", ...args]);
  process.stdout.write(shortened(run.stdout));
  process.stderr.write(run.stderr);
  process.stdout.write(`(exit code ${run.code})\n`);
  if (run.code !== expectedCode) throw new Error(`${args.join(" ")} exited ${run.code}, not ${expectedCode}`);
}

/** The reason `denials` gives for each address, read from its JSON result: what the demo checks. */
async function deniedReasons(config: string): Promise<Map<string, string>> {
  const run = await runCli(["--config", config, "--log-level", "warn", "--output", "json", "denials"]);
  const report = JSON.parse(run.stdout) as { denials: Array<{ address: string; reason: string }> };
  return new Map(report.denials.map((d) => [d.address, d.reason]));
}

async function expectDenied(config: string, address: string, reason: string): Promise<void> {
  const given = (await deniedReasons(config)).get(address);
  if (given !== reason) throw new Error(`denials gave ${address} the reason ${given ?? "none"}, not ${reason}`);
}

async function get(haproxy: RunningHaproxy, from: string, what: string, expected: number): Promise<void> {
  const status = await haproxy.statusFrom(from);
  process.stdout.write(`GET from ${from} (${what}): ${status}\n`);
  if (status !== expected) throw new Error(`GET from ${from} got ${status}, not ${expected}`);
}

function ensureHaproxy(): void {
  if (spawnSync(HAPROXY_BIN, ["-v"]).status === 0) return;
  if (process.getuid?.() !== 0) {
    process.stderr.write("HAProxy is not installed. Install it with: sudo apt-get install -y haproxy   (then run npm run demo again)\n");
    process.exit(1);
  }
  step("Installing HAProxy (apt-get install -y haproxy)");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", "haproxy"],
  ]) {
    if (spawnSync("apt-get", args, { stdio: "inherit", env }).status !== 0) {
      process.stderr.write("apt-get failed; install haproxy by hand and run npm run demo again\n");
      process.exit(1);
    }
  }
}

async function main(): Promise<void> {
  ensureHaproxy();
  const dir = await mkdtemp(join(tmpdir(), "travis-allowlist-demo-"));
  const travis = travisAddresses();
  const dns = await startDnsServer({ zones: { [NAME]: { A: travis, ttl: 300 } } });
  const haproxy = await startHaproxy({
    dir,
    kind: "map",
    entries: ["127.0.0.5 office", `${STRANGER} travis`, "104.154.113.99 travis"],
    ...deniedClientsRecipe(TABLE),
  });
  try {
    const config = await writeConfig(dir, {
      resolver: dns.resolver,
      staticEntries: [`${BUILD}/32`],
      sockets: [haproxy.unixTarget],
      map: haproxy.listFile,
      denials: { table: TABLE },
    });
    step(`HAProxy ${haproxy.version} on 127.0.0.1:${haproxy.httpPort}, runtime socket ${haproxy.unixTarget}`);
    process.stdout.write(`DNS server on ${dns.resolver} answering ${NAME} with ${travis.length} recorded Travis addresses\n`);
    process.stdout.write(`A static source adds ${BUILD} so that this machine can play a Travis build worker.\n`);
    process.stdout.write("guards.removeAfter is 0 here, so a stale entry goes at once; by default it is kept for an hour first.\n");
    process.stdout.write(`HAProxy counts each client it denies in the stick table ${TABLE} (haproxy.denials.table).\n`);
    process.stdout.write(`Live map before: ${(await liveEntries(haproxy)).join(", ")}\n`);

    process.stdout.write(
      "The first run adds the whole Travis set, more than guards.maxAdditions lets a run add unreviewed:\n" +
        "the dry run saves its plan for review, and sync --plan applies exactly that plan.\n",
    );
    const plan = join(dir, "first.plan.json");
    await show(config, ["sync", "--dry-run", "--plan-out", plan], 3);
    await show(config, ["sync", "--plan", plan]);

    const after = await liveEntries(haproxy);
    const kept = after.filter((entry) => entry.startsWith(`${BUILD}/`) || entry.endsWith(" office"));
    step("Live map after (show map over the runtime socket)");
    process.stdout.write(`${after.length} entries, among them: ${kept.join(", ")}\n`);

    step("Real requests through HAProxy");
    await get(haproxy, BUILD, "published", 200);
    await get(haproxy, STRANGER, "no longer published", 403);
    await get(haproxy, OUTSIDER, "never published", 403);

    await show(config, ["denials"]);
    await expectDenied(config, OUTSIDER, "unpublished");
    await expectDenied(config, STRANGER, "removed");

    step(`Travis publishes a new runner: the recorded DNS data gains ${NEW_RUNNER}`);
    (dns.zones[NAME] as { A: string[] }).A = [...travis, NEW_RUNNER];
    await get(haproxy, NEW_RUNNER, "published, not synced yet", 403);
    await show(config, ["denials", "--detailed-exitcode"], 2);
    await expectDenied(config, NEW_RUNNER, "stale");

    await show(config, ["sync"]);
    step("The new runner after the sync");
    await get(haproxy, NEW_RUNNER, "published", 200);
    step("Done: the allowlist equals the published set, the office entry was left alone, and every denial was explained.");
  } finally {
    await haproxy.stop();
    await dns.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
