import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logLines, runCli } from "../support/cli.js";
import { configDocument } from "../support/config.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

const KEY = "hmac-key-from-a-secret-0123456789";
let h: RunningHaproxy;
let config: string;

beforeAll(async () => {
  h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
  const document = configDocument({ staticEntries: ["127.0.0.21"], sockets: [h.unixTarget], map: h.listFile });
  config = join(h.dir, "travis-allowlist.yaml");
  await writeFile(config, stringify({ ...document, audit: { path: join(h.dir, "audit.jsonl"), key: "${AUDIT_HMAC_KEY}" } }));
});
afterAll(() => h.stop());

describe("audit.key", () => {
  it("seals the trail with HMAC-SHA256, logs each run's head as an anchor, and verify checks both", async () => {
    const env = { AUDIT_HMAC_KEY: KEY };
    const sync = await runCli(["--config", config, "sync"], { env });
    expect(sync.code).toBe(0);
    const summary = logLines(sync.stderr).find((l) => l.event === "run-summary") as { auditHead: { seq: number; hash: string } };
    expect(summary.auditHead).toMatchObject({ seq: 2, hash: expect.stringMatching(/^hmac-sha256:/) });
    expect(await readFile(join(h.dir, "audit.jsonl"), "utf8")).not.toContain(KEY);

    const verified = await runCli(["--config", config, "audit", "verify", "--anchor", `${summary.auditHead.seq}:${summary.auditHead.hash}`], { env });
    expect(verified).toMatchObject({ code: 0, stdout: expect.stringContaining("keyed (HMAC-SHA256) from record 1, matches the anchor #2") });

    const wrongAnchor = await runCli(["--config", config, "audit", "verify", "--anchor", `1:${summary.auditHead.hash}`], { env });
    expect(wrongAnchor).toMatchObject({ code: 1, stdout: expect.stringContaining("does not carry the anchored digest") });
    const wrongKey = await runCli(["--config", config, "audit", "verify"], { env: { AUDIT_HMAC_KEY: "not-the-key-0123456789" } });
    expect(wrongKey).toMatchObject({ code: 1, stdout: expect.stringContaining("sealed with another key") });
    const forged = await runCli(["--config", config, "sync"], { env: { AUDIT_HMAC_KEY: "not-the-key-0123456789" } });
    expect(forged.code).toBe(1);
    expect(logLines(forged.stderr).some((l) => (l.err as { code?: string } | undefined)?.code === "E_AUDIT_KEY")).toBe(true);
    expect((await runCli(["--config", config, "audit", "verify", "--anchor", "two:abc"], { env })).code).toBe(64);
  });
});
