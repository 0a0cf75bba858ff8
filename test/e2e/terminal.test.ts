import { execFile } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { childEnv, CLI, logLines, runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

let h: RunningHaproxy;
let config: string;
let broken: string;

beforeAll(async () => {
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
  config = await writeConfig(h.dir, { staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: h.listFile });
  // A resolver nothing answers on: the source fails.
  broken = await writeConfig(h.dir, { resolver: "127.0.0.1:9", sockets: [h.unixTarget], map: h.listFile }, "broken.yaml");
});
afterAll(() => h.stop());
const extra: RunningHaproxy[] = [];
afterEach(async () => {
  await Promise.all(extra.splice(0).map((e) => e.stop()));
});

/** A map holding an owned entry no source publishes: with removeAfter, a pending removal. */
async function withPendingRemoval(): Promise<string> {
  const p = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office", "127.0.0.9 travis"] });
  extra.push(p);
  return writeConfig(p.dir, { staticEntries: ["127.0.0.21"], sockets: [p.unixTarget], map: p.listFile, extra: { guards: { removeAfter: "1h" } } });
}

const LOG_LINE = /^\[\d\d:\d\d:\d\d\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL)/;

// eslint-disable-next-line no-control-regex -- colours are not lines
const COLOURS = /\u001b\[[0-9;]*m/g;

/** The CLI on a pseudo-terminal (util-linux `script`), stdout and stderr as a person sees them. */
function onTerminal(args: string[]): Promise<{ code: number; lines: string[] }> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ");
  return new Promise((resolve) =>
    execFile("script", ["-qec", command, "/dev/null"], { env: childEnv({ TERM: "dumb" }), timeout: 20_000 }, (err, stdout) =>
      resolve({
        code: err ? (typeof err.code === "number" ? err.code : -1) : 0,
        lines: stdout
          .replace(COLOURS, "")
          .split(/\r?\n/)
          .filter((l) => l.trim() !== ""),
      }),
    ),
  );
}

describe("on a terminal", () => {
  it("a sync shows the result and at most a few one-line messages: no audit record, no run summary", async () => {
    expect((await onTerminal(["--config", config, "sync"])).code).toBe(0);
    const quiet = await onTerminal(["--config", config, "sync"]);
    expect(quiet.code).toBe(0);
    const logs = quiet.lines.filter((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR)/.test(l));
    expect(logs.length).toBeLessThanOrEqual(3);
    expect(quiet.lines.length - logs.length).toBeLessThanOrEqual(6);
    expect(quiet.lines.join("\n")).not.toMatch(/prevHash|"record"|run finished/);
    expect(quiet.lines.at(-1)).toBe("In sync: nothing to do.");
  });

  it("a failure shows what failed and no stack trace; --log-level debug shows everything", async () => {
    const failed = await onTerminal(["--config", broken, "resolve"]);
    expect(failed.code).toBe(1);
    const text = failed.lines.join("\n");
    expect(text).toContain("E_SOURCE_DNS");
    expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    // The error is said once, in one line with its code: no log line repeats it, no JSON block beneath it.
    expect(failed.lines).toEqual([expect.stringMatching(/^error E_SOURCE_DNS_\w+: source failed, nothing changed: source travis-dns: /)]);
    expect(text).not.toMatch(/err: \{|"code":/);
    const debug = await onTerminal(["--config", broken, "--log-level", "debug", "resolve"]);
    expect(debug.lines.join("\n")).toMatch(/stack/);
  });

  it("an instance that fails is said once, in the result, with its code; the log store still gets the error", async () => {
    const unreachable = await writeConfig(
      h.dir,
      { staticEntries: ["127.0.0.21"], sockets: [`unix://${h.dir}/missing.sock`], map: h.listFile },
      "unreachable.yaml",
    );
    const failed = await onTerminal(["--config", unreachable, "sync"]);
    expect(failed.code).toBe(1);
    expect(failed.lines.filter((l) => LOG_LINE.test(l))).toEqual([]);
    expect(failed.lines.filter((l) => l.includes("cannot connect"))).toEqual([
      expect.stringMatching(/^ {2}error E_HAPROXY_CONNECT: unix:\/\/.*missing\.sock: cannot connect/),
    ]);
    const json = await runCli(["--config", unreachable, "sync"]);
    expect(logLines(json.stderr)).toContainEqual(
      expect.objectContaining({ level: 50, msg: "could not read instance", err: expect.objectContaining({ code: "E_HAPROXY_CONNECT" }) }),
    );
  });

  it("at the default level, info lines stay off the terminal: a pending removal shows once, in the result; --log-level info brings them back", async () => {
    const pending = await withPendingRemoval();
    const first = await onTerminal(["--config", pending, "sync"]);
    expect(first.code).toBe(0);
    expect(first.lines.filter((l) => LOG_LINE.test(l))).toEqual([]);
    expect(first.lines.filter((l) => l.includes("127.0.0.9/32"))).toEqual([
      expect.stringMatching(/^ {2}\? 127\.0\.0\.9\/32 \(absent upstream; kept until \S+\)$/),
    ]);
    const verbose = await onTerminal(["--config", pending, "--log-level", "info", "sync"]);
    expect(verbose.lines.filter((l) => / INFO: 127\.0\.0\.9\/32 is absent from the sources/.test(l))).toHaveLength(1);
    // Anything but a terminal keeps every line at the level asked for, as JSON.
    const piped = await runCli(["--config", pending, "sync"]);
    expect(logLines(piped.stderr).filter((l) => l.level === 30).length).toBeGreaterThan(0);
  });

  it("a missing removal state is said once, in one line, and only when it kept an entry: not with nothing owned, not after the first sync", async () => {
    const noneOwned = await onTerminal(["--config", config, "sync", "--dry-run"]);
    expect(noneOwned.lines.join("\n")).not.toMatch(/removal state/);
    const pending = await withPendingRemoval();
    const first = await onTerminal(["--config", pending, "sync"]);
    const said = first.lines.filter((l) => /removal state/.test(l));
    expect(said).toEqual([expect.stringMatching(/^Note: no removal state yet: 1 owned entry absent upstream keeps the grace period/)]);
    expect((said[0] as string).length).toBeLessThanOrEqual(160);
    const second = await onTerminal(["--config", pending, "sync"]);
    expect(second.code).toBe(0);
    expect(second.lines.join("\n")).not.toMatch(/removal state/);
  });

  it.each([
    [
      ["sync", "--plan", "/nonexistent/reviewed.plan.json"],
      1,
      /^error E_PLAN_INVALID: --plan \/nonexistent\/reviewed\.plan\.json: file not found$/,
      "give the file written by",
    ],
    [["sync", "--plan-out", "/nonexistent/x.json"], 64, /^error E_USAGE: --plan-out saves a dry run's plan: add --dry-run$/, "run with --help"],
  ])("an error that stops %j is one line with its code and one hint line", async (args, code, line, hint) => {
    const failed = await onTerminal(["--config", config, ...args]);
    expect(failed.code).toBe(code);
    expect(failed.lines).toEqual([expect.stringMatching(line), expect.stringMatching(new RegExp(`^hint: ${hint}`))]);
  });

  it("a held run's approval advice is given once, pointing at the saved plan; --force gives none", async () => {
    const p = await startHaproxy({ kind: "map", entries: ["127.0.0.21/32 travis"] });
    extra.push(p);
    const entries = ["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24"];
    const held = await writeConfig(p.dir, { staticEntries: entries, sockets: [p.unixTarget], map: p.listFile, extra: { guards: { maxAdditions: 1 } } });
    const plan = join(p.dir, "held.plan.json");
    const saved = await onTerminal(["--config", held, "sync", "--dry-run", "--plan-out", plan]);
    expect(saved.code).toBe(3);
    expect(saved.lines.filter((l) => l.includes("approve exactly this change"))).toEqual([
      expect.stringMatching(
        new RegExp(`^Plan saved to ${plan.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(sha256:[0-9a-f]{64}\\): .*: travis-allowlist sync --plan `),
      ),
    ]);
    expect(saved.lines.join("\n")).not.toContain("--plan-out");
    const forced = await onTerminal(["--config", held, "sync", "--dry-run", "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.lines.filter((l) => l.includes("maxAdditions: would add 3"))).toHaveLength(1);
    expect(forced.lines.join("\n")).not.toContain("approve exactly this change");
  });

  it("a sync waiting for the run lock says so at once: whose pid, since when, for how long at most", async () => {
    const lock = join(h.dir, "sync.lock");
    await writeFile(lock, `${process.pid} ${hostname()} ${Date.now()}`, { mode: 0o600 });
    try {
      const waited = await onTerminal(["--config", config, "sync", "--lock-timeout", "1"]);
      expect(waited.code).toBe(1);
      const at = waited.lines.findIndex((l) =>
        new RegExp(`WARN: waiting up to 1 s \\(--lock-timeout\\) for another sync: the run lock is held by pid ${process.pid} on `).test(l),
      );
      expect(at).toBeGreaterThanOrEqual(0);
      expect(waited.lines.findIndex((l) => l.includes("E_RUN_LOCK"))).toBeGreaterThan(at);
    } finally {
      await rm(lock, { force: true });
    }
  });
});
