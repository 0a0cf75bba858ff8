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
import { HAPROXY_BIN, liveEntries, startHaproxy } from "../test/support/haproxy.js";

const BUILD = "127.0.0.21";
const STRANGER = "127.0.0.66";

function step(title: string): void {
  process.stdout.write(`\n=== ${title}\n`);
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
  const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: travis, ttl: 300 } } });
  const haproxy = await startHaproxy({
    dir,
    kind: "map",
    entries: ["127.0.0.5 office", `${STRANGER} travis`, "104.154.113.99 travis"],
  });
  try {
    const config = await writeConfig(dir, {
      resolver: dns.resolver,
      staticEntries: [`${BUILD}/32`],
      sockets: [haproxy.unixTarget],
      map: haproxy.listFile,
    });
    step(`HAProxy ${haproxy.version} on 127.0.0.1:${haproxy.httpPort}, runtime socket ${haproxy.unixTarget}`);
    process.stdout.write(`DNS server on ${dns.resolver} answering nat.travisci.net with ${travis.length} recorded Travis addresses\n`);
    process.stdout.write(`A static source adds ${BUILD} so that this machine can play a Travis build worker.\n`);
    process.stdout.write("guards.removeAfter is 0 here, so a stale entry goes at once; by default it is kept for an hour first.\n");
    process.stdout.write(`Live map before: ${(await liveEntries(haproxy)).join(", ")}\n`);
    process.stdout.write(`GET from ${BUILD}: ${await haproxy.statusFrom(BUILD)}   GET from ${STRANGER}: ${await haproxy.statusFrom(STRANGER)}\n`);

    for (const args of [["sync", "--dry-run"], ["sync"]]) {
      step(`travis-allowlist --config ${config} ${args.join(" ")}`);
      const run = await runCli(["--config", config, "--log-level", "warn", ...args]);
      process.stdout.write(run.stdout);
      process.stderr.write(run.stderr);
      process.stdout.write(`(exit code ${run.code})\n`);
      if (run.code !== 0) throw new Error(`${args.join(" ")} exited ${run.code}`);
    }

    step("Live map after (show map over the runtime socket)");
    process.stdout.write(`${(await liveEntries(haproxy)).join("\n")}\n`);

    step("Real requests through HAProxy");
    const allowed = await haproxy.statusFrom(BUILD);
    const denied = await haproxy.statusFrom(STRANGER);
    process.stdout.write(`GET from ${BUILD} (published): ${allowed}\nGET from ${STRANGER} (no longer published): ${denied}\n`);
    if (allowed !== 200 || denied !== 403) throw new Error("allow/deny did not come out as expected");
    step("Done: the allowlist equals the published set; the office entry was left alone.");
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
