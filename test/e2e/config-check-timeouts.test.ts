import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { logLines, runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

describe("config check warns about peer timeouts that are not well below runTimeout", () => {
  it("names the key in its text and JSON output and in a warning log line, and still exits 0", async () => {
    const dir = (await tempDir("ta-config-check-")).path;
    const path = join(dir, "travis-allowlist.yaml");
    await writeFile(
      path,
      [
        "sources: [{name: pinned, type: static, entries: [34.66.25.221]}]",
        "haproxy: {sockets: ['unix:///run/haproxy/admin.sock'], map: /etc/haproxy/maps/travis.map, timeoutMs: 300000}",
        "runTimeout: 20s",
        "",
      ].join("\n"),
    );
    const text = await runCli(["--config", path, "config", "check"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("# warning: haproxy.timeoutMs (300000 ms) is more than half of runTimeout (20s)");
    expect(logLines(text.stderr)).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringContaining("haproxy.timeoutMs (300000 ms)") }));

    const json = await runCli(["--config", path, "--output", "json", "config", "check"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, warnings: [expect.stringContaining("set haproxy.timeoutMs to at most 10000")] });
  });
});
