import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/cli.js";
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

// eslint-disable-next-line no-control-regex -- colours are not lines
const COLOURS = /\u001b\[[0-9;]*m/g;

/** The CLI on a pseudo-terminal (util-linux `script`), stdout and stderr as a person sees them. */
function onTerminal(args: string[]): Promise<{ code: number; lines: string[] }> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ");
  return new Promise((resolve) =>
    execFile("script", ["-qec", command, "/dev/null"], { env: { PATH: process.env.PATH ?? "", TERM: "dumb" }, timeout: 20_000 }, (err, stdout) =>
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
    const debug = await onTerminal(["--config", broken, "--log-level", "debug", "resolve"]);
    expect(debug.lines.join("\n")).toMatch(/stack/);
  });
});
