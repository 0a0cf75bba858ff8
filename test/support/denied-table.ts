/** A HAProxy stick table of denied clients filled as many clients' requests would have, and a config that reads it. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { configDocument } from "./config.js";
import type { RunningDnsServer } from "./dns-server.js";
import { deniedClientsRecipe, type RunningHaproxy, runtimeCommand, startHaproxy } from "./haproxy.js";

export const DENIED_TABLE = "st_denied";

/** A HAProxy with the denied clients' recipe (a table of `size` entries, HAProxy's notation), in its own directory. */
export async function haproxyWithDeniedTable(dir: string, size?: string): Promise<RunningHaproxy> {
  await mkdir(dir, { recursive: true });
  return startHaproxy({ kind: "map", dir, ...deniedClientsRecipe(DENIED_TABLE, size) });
}

/** `::ffff:10.a.b.c`: the key HAProxy's `type ipv6` table gives an IPv4 client. */
function deniedKey(n: number): string {
  return `::ffff:10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/**
 * Fills the table with `count` denied clients over one runtime connection, pipelined in
 * prompt mode (`set table … data.http_req_cnt`), as many clients' requests would have.
 */
export async function fillDeniedTable(h: RunningHaproxy, count: number): Promise<void> {
  const socket = h.unixTarget.slice("unix://".length);
  const lines = Array.from({ length: count }, (_, i) => `set table ${DENIED_TABLE} key ${deniedKey(i)} data.http_req_cnt ${1 + (i % 50)}\n`);
  const reply = await runtimeCommand(socket, `prompt\n${lines.join("")}quit`);
  // Each accepted command answers with an empty line and the prompt; anything else is HAProxy refusing one.
  const refused = reply.replace(/^> ?/gm, "").trim();
  if (refused !== "") throw new Error(`HAProxy refused to fill ${DENIED_TABLE}: ${refused.slice(0, 300)}`);
  const used = /used:(\d+)/.exec(await h.command(`show table`))?.[1];
  if (Number(used) !== count) throw new Error(`${DENIED_TABLE} holds ${used ?? "no"} entries, not ${count}`);
}

/** The config the denial figures run with: the recorded Travis set by DNS, the table named, no guard in the way. */
export async function denialsConfig(dir: string, h: RunningHaproxy, dns: RunningDnsServer, extra: Record<string, unknown> = {}): Promise<string> {
  const document = configDocument({
    resolver: dns.resolver,
    sockets: [h.unixTarget],
    map: h.listFile,
    auditPath: join(dir, "audit.jsonl"),
    denials: { table: DENIED_TABLE },
    extra: { guards: { maxAdditions: 1_000_000 }, stateDir: join(dir, "state"), ...extra },
  });
  const file = join(dir, "travis-allowlist.yaml");
  await writeFile(file, stringify(document));
  return file;
}
