import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { writeFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { haproxyBinaries } from "../support/haproxy.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Values for the ${VAR}s the documented configs use. */
const ENV = { SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T0/B0/X", AUDIT_HMAC_KEY: "0123456789abcdef0123", TOKEN: "t0k3n-for-docs" };

const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".yaml"));

/** Every indented block in the README and docs/ that is a whole config (it starts with `sources:`). */
function documentedConfigs(): Array<{ where: string; text: string }> {
  const pages = ["README.md", ...readdirSync(join(ROOT, "docs")).map((f) => join("docs", f))].filter((p) => p.endsWith(".md"));
  return pages.flatMap((page) => {
    const lines = readFileSync(join(ROOT, page), "utf8").split("\n");
    const blocks: Array<{ where: string; text: string }> = [];
    lines.forEach((line, i) => {
      if (line !== "    sources:") return;
      const body: string[] = [];
      for (let j = i; j < lines.length && (lines[j]?.startsWith("    ") || lines[j] === ""); j++) body.push((lines[j] as string).slice(4));
      blocks.push({ where: `${page}:${i + 1}`, text: body.join("\n") });
    });
    return blocks;
  });
}

describe("documented configs cannot rot", () => {
  it.each(examples)("examples/%s passes config check", async (file) => {
    const run = await runCli(["--config", join(ROOT, "examples", file), "config", "check"], { env: ENV });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("the README and docs hold whole configs, and each passes config check", async () => {
    const blocks = documentedConfigs();
    expect(blocks.map((b) => b.where.split(":")[0])).toEqual(expect.arrayContaining(["README.md", "docs/configuration.md"]));
    const dir = await tempDir("ta-doc-configs-");
    try {
      for (const [i, block] of blocks.entries()) {
        const path = join(dir.path, `block-${i}.yaml`);
        await writeFile(path, block.text);
        const run = await runCli(["--config", path, "config", "check"], { env: ENV });
        expect(run.stderr, block.where).toBe("");
        expect(run.code, block.where).toBe(0);
      }
    } finally {
      await dir.remove();
    }
  });

  it.each(haproxyBinaries())(
    "the denied clients' recipe (examples/haproxy-denials.cfg, mode http and mode tcp) passes haproxy -c on $version",
    async ({ bin }) => {
      const dir = await tempDir("ta-doc-haproxy-");
      try {
        const lists = { "/etc/haproxy/maps/travis.map": join(dir.path, "travis.map"), "/etc/haproxy/acls/travis.acl": join(dir.path, "travis.acl") };
        let text = readFileSync(join(ROOT, "examples", "haproxy-denials.cfg"), "utf8").replace("/run/haproxy/admin.sock", join(dir.path, "admin.sock"));
        for (const [documented, local] of Object.entries(lists)) {
          expect(text).toContain(documented);
          text = text.replace(documented, local);
          await writeFile(local, "");
        }
        await writeFile(join(dir.path, "haproxy.cfg"), text);
        const check = spawnSync(bin, ["-c", "-f", join(dir.path, "haproxy.cfg")], { encoding: "utf8" });
        expect(check.stderr + check.stdout).not.toMatch(/\[(ALERT|WARNING)\]/);
        expect(check.status).toBe(0);
      } finally {
        await dir.remove();
      }
    },
  );

  it("the Kubernetes example is the config the CronJob's ConfigMap holds", () => {
    const configMap = parse(readFileSync(join(ROOT, "deploy/base/configmap.yaml"), "utf8")) as { data: Record<string, string> };
    expect(parse(configMap.data["travis-allowlist.yaml"] as string)).toEqual(parse(readFileSync(join(ROOT, "examples/kubernetes-cronjob.yaml"), "utf8")));
  });

  it("the README is a short front door", () => {
    expect(readFileSync(join(ROOT, "README.md"), "utf8").split("\n").length).toBeLessThanOrEqual(250);
  });
});
