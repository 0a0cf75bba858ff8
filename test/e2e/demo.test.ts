import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { childEnv } from "../support/cli.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSX = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));

/** `npm run demo` after its build step (the suite builds first): the demo's own output and exit code. */
function runDemo(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(TSX, ["demo/run.ts"], { cwd: ROOT, env: childEnv(), timeout: 90_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe("npm run demo", () => {
  it("syncs the recorded Travis set, then explains each denial: unpublished, removed, and a new runner stale until the sync admits it", async () => {
    const demo = await runDemo();
    expect(demo.stderr).toBe("");
    expect(demo.code).toBe(0);
    const lines = demo.stdout.split("\n");
    expect(lines).toContain("GET from 127.0.0.21 (published): 200");
    expect(lines).toContain("GET from 127.0.0.77 (never published): 403");
    expect(lines.some((line) => /^127\.0\.0\.77 +unpublished +1 requests/.test(line))).toBe(true);
    expect(lines.some((line) => /^127\.0\.0\.66 +removed +1 requests/.test(line))).toBe(true);
    expect(lines).toContain("GET from 127.0.0.22 (published, not synced yet): 403");
    expect(lines.some((line) => /^127\.0\.0\.22 +stale +1 requests/.test(line))).toBe(true);
    expect(lines).toContain("GET from 127.0.0.22 (published): 200");
    expect(demo.stdout.indexOf("127.0.0.22 (published, not synced yet): 403")).toBeLessThan(demo.stdout.indexOf("  + 127.0.0.22/32"));
  }, 120_000);
});
