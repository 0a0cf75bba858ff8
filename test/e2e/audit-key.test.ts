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

  it("verify without audit.key on a keyed trail is a usage problem (exit 64, E_AUDIT_KEY_MISSING), not 'NOT intact'", async () => {
    const path = join(h.dir, "audit-keyless-verify.jsonl");
    const document = configDocument({ staticEntries: ["127.0.0.23"], sockets: [h.unixTarget], map: h.listFile });
    const keyed = join(h.dir, "keyed.yaml");
    const keyless = join(h.dir, "keyless.yaml");
    await writeFile(keyed, stringify({ ...document, audit: { path, key: "${AUDIT_HMAC_KEY}" } }));
    await writeFile(keyless, stringify({ ...document, audit: { path } }));
    expect((await runCli(["--config", keyed, "sync"], { env: { AUDIT_HMAC_KEY: KEY } })).code).toBe(0);

    const text = await runCli(["--config", keyless, "audit", "verify"]);
    expect(text.code).toBe(64);
    expect(text.stdout).not.toContain("NOT intact");
    const logged = logLines(text.stderr).find((l) => l.err !== undefined) as { err: { code: string; message: string } } | undefined;
    expect(logged?.err.code).toBe("E_AUDIT_KEY_MISSING");
    expect(logged?.err.message).toContain(`audit trail ${path}: this trail is keyed; set audit.key`);

    const json = await runCli(["--config", keyless, "--output", "json", "audit", "verify"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      exitCode: 64,
      error: { code: "E_AUDIT_KEY_MISSING", message: expect.stringContaining("this trail is keyed") },
    });

    // With the key the same trail is intact: the missing key was the only problem.
    expect(await runCli(["--config", keyed, "audit", "verify"], { env: { AUDIT_HMAC_KEY: KEY } })).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("intact"),
    });
  });

  it("seals the head too: records deleted from the end with the head rewritten to match fail verify, truncation named", async () => {
    const env = { AUDIT_HMAC_KEY: KEY };
    const path = join(h.dir, "audit-truncated.jsonl");
    const own = join(h.dir, "truncated.yaml");
    const document = configDocument({ staticEntries: ["127.0.0.22"], sockets: [h.unixTarget], map: h.listFile });
    await writeFile(own, stringify({ ...document, audit: { path, key: "${AUDIT_HMAC_KEY}" } }));
    expect((await runCli(["--config", own, "sync"], { env })).code).toBe(0);
    expect((await runCli(["--config", own, "sync"], { env })).code).toBe(0);
    const head = JSON.parse(await readFile(`${path}.head`, "utf8")) as { seq: number; hash: string; seal: string };
    expect(head).toEqual({ seq: 3, hash: expect.stringMatching(/^hmac-sha256:/), seal: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/) });
    expect(await readFile(`${path}.head`, "utf8")).not.toContain(KEY);
    expect(await runCli(["--config", own, "audit", "verify"], { env })).toMatchObject({ code: 0, stdout: expect.stringContaining("intact, 3 records") });

    // Delete the last two records and rewrite the head to match what is left, as someone without the key can.
    const kept = (await readFile(path, "utf8")).split("\n").slice(0, 1);
    await writeFile(path, `${kept.join("\n")}\n`);
    const tip = JSON.parse(kept[0] as string) as { seq: number; hash: string };
    await writeFile(`${path}.head`, `${JSON.stringify({ seq: tip.seq, hash: tip.hash })}\n`);
    const verified = await runCli(["--config", own, "audit", "verify"], { env });
    expect(verified).toMatchObject({ code: 1, stdout: expect.stringContaining("NOT intact") });
    expect(verified.stdout).toContain("not sealed with audit.key though the trail is keyed");
    expect(verified.stdout).toContain("records removed from the end");

    // Keeping the old sealed head instead shows the truncation by number.
    await writeFile(`${path}.head`, `${JSON.stringify(head)}\n`);
    const kept2 = await runCli(["--config", own, "audit", "verify"], { env });
    expect(kept2).toMatchObject({
      code: 1,
      stdout: expect.stringContaining("the chain ends at record 1 but the head file records 3 (records were removed from the end)"),
    });
  });
});
