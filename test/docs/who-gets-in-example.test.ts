import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { startDnsServer, type RunningDnsServer } from "../support/dns-server.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface DocumentedRun {
  args: string[];
  /** Output lines, in order; other lines may come between them (the README shows `…`). */
  lines: string[];
  exit: number;
}

/** The commands and output shown in a page's worked example under "## Who gets in". */
function documentedRuns(page: string): DocumentedRun[] {
  const text = readFileSync(join(ROOT, page), "utf8");
  const start = text.indexOf("\n## Who gets in");
  const end = text.indexOf("\n## ", start + 1);
  const section = text.slice(start, end === -1 ? undefined : end);
  const runs: DocumentedRun[] = [];
  for (const line of section.split("\n")) {
    if (!line.startsWith("    ")) continue;
    const body = line.slice(4);
    if (body.startsWith("$ travis-allowlist ")) {
      runs.push({ args: body.slice("$ travis-allowlist ".length).split(" "), lines: [], exit: 0 });
      continue;
    }
    const run = runs.at(-1);
    if (!run || body.trim() === "…") continue;
    const exit = /^(.*?)\s+\(exit (\d+)\)$/.exec(body);
    if (exit) run.exit = Number(exit[2]);
    run.lines.push((exit ? (exit[1] as string) : body).trimEnd());
  }
  return runs;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

/** What differs between the README's machine and this one: times, paths, versions, run ids, the actor, the resolver. */
function pattern(documented: string): RegExp {
  const source = escape(documented.replace(ISO, "\u0000"))
    .replaceAll("\u0000", ISO.source)
    .replace(escape("unix:///run/haproxy/admin.sock"), "unix://\\S+")
    .replace(/HAProxy \d+\\\.\d+\\\.\d+/, "HAProxy [\\d.]+(?:-\\S+)?")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "[0-9a-f-]{36}")
    .replace(escape("deploy@ops-1"), "\\S+")
    .replace(escape("@10.96.0.10"), "@\\S+");
  return new RegExp(`^${source}$`);
}

/** Each documented line matches an output line, in the same order. */
function missingLines(documented: string[], output: string[]): string[] {
  let at = 0;
  const missing: string[] = [];
  for (const line of documented) {
    const re = pattern(line);
    const found = output.findIndex((o, i) => i >= at && re.test(o.trimEnd()));
    if (found === -1) missing.push(line);
    else at = found + 1;
  }
  return missing;
}

let dns: RunningDnsServer;
const running: RunningHaproxy[] = [];

beforeAll(async () => {
  dns = await startDnsServer({ zones: {} });
});
afterAll(async () => {
  await Promise.all([...running.map((h) => h.stop()), dns?.stop()]);
});

describe('the worked example under "Who gets in"', () => {
  it.each(["README.md", "docs/safety.md"])(
    "in %s prints what it shows, against a real HAProxy",
    async (page) => {
      const runs = documentedRuns(page);
      expect(runs.map((r) => r.args[0])).toEqual(["status", "sync", "explain"]);
      dns.zones["nat.travisci.net"] = { A: ["127.0.0.21", "127.0.0.22"] };
      const h = await startHaproxy({ kind: "map", entries: ["127.0.1.0/24 office", "0.0.0.0/1 legacy"] });
      running.push(h);
      const config = await writeConfig(h.dir, {
        resolver: dns.resolver,
        sockets: [h.unixTarget],
        map: h.listFile,
        extra: { exclude: ["127.0.1.7/32"], guards: { removeAfter: "1h" } },
      });
      expect((await runCli(["--config", config, "sync"])).code).toBe(0);
      // Someone adds an entry by hand with the tool's value; the sources stop publishing .22.
      await h.command(`add map ${h.listFile} 127.0.0.66 travis`);
      dns.zones["nat.travisci.net"] = { A: ["127.0.0.21"] };

      for (const run of runs) {
        const result = await runCli(["--config", config, ...run.args]);
        const output = result.stdout.split("\n");
        expect(missingLines(run.lines, output), `travis-allowlist ${run.args.join(" ")} printed:\n${result.stdout}`).toEqual([]);
        expect(result.code, run.args.join(" ")).toBe(run.exit);
      }
      // What the example ends on: the hand-added entry is gone, and the address still gets in through the legacy range.
      expect(await h.statusFrom("127.0.0.66")).toBe(200);
      expect(await h.statusFrom("127.0.1.7")).toBe(200);
    },
    90_000,
  );
});
