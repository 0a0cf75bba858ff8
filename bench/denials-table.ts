/**
 * `tsx bench/denials-table.ts`: the 100,000-entry denied clients' table the denials
 * figures are measured over, kept up until interrupted, so that `denials` can be
 * profiled against it (`node --cpu-prof dist/cli/main.js --config FILE denials`).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { CLI } from "../test/support/cli.js";
import { startDnsServer } from "../test/support/dns-server.js";
import { travisAddresses } from "../test/support/fixtures.js";
import { tempDir } from "../test/support/tmp.js";
import { denialsConfig, fillDeniedTable, haproxyWithDeniedTable } from "../test/support/denied-table.js";

const ENTRIES = Number(process.env.DENIED_ENTRIES ?? 100_000);

const dir = await tempDir("ta-denials-");
const dns = await startDnsServer({ zones: { "nat.travisci.net": { A: travisAddresses() } } });
const h = await haproxyWithDeniedTable(dir.path);
await fillDeniedTable(h, ENTRIES);
const config = await denialsConfig(dir.path, h, dns);
// The published set is made live first, as the bench does: denials then classify against a synced map.
await promisify(execFile)(process.execPath, [CLI, "--config", config, "--log-level", "warn", "sync"]);
process.stdout.write(`${ENTRIES} denied clients; run: node ${CLI} --config ${config} denials\n`);
const stop = async () => {
  await h.stop();
  await dns.stop();
  await dir.remove();
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
