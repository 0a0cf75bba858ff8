import { readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logLines, runCli } from "../support/cli.js";
import { configDocument } from "../support/config.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { startReceiver } from "../support/http-receiver.js";

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

describe("a keyed trail cut from the end (head -n 2), then one normal sync", () => {
  const env = { AUDIT_HMAC_KEY: KEY };
  const ENTRY = "127.0.0.31";

  it.each([
    ["kept", () => Promise.resolve(), "the trail ends at record 2 but the head file records 4", () => "the chain ends at record 2 but the head file records 4"],
    ["deleted", (path: string) => rm(`${path}.head`), "the head file is missing though the trail has 2 record(s)", () => "the head file is missing"],
    [
      "replaced by a symlink",
      async (path: string) => {
        await rm(`${path}.head`);
        await symlink("/dev/null", `${path}.head`);
      },
      "the head file is a symlink",
      (path: string) => `a symlink was found at ${path}.head`,
    ],
  ])(
    "with the head %s: E_AUDIT_TAMPERED, nothing applied, failed alert sent, and verify names the problem",
    async (_how, tamper, refusal, named) => {
      const haproxy = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"] });
      const hook = await startReceiver([200]);
      try {
        const path = join(haproxy.dir, "audit.jsonl");
        const own = join(haproxy.dir, "cut.yaml");
        const document = configDocument({ staticEntries: [ENTRY], sockets: [haproxy.unixTarget], map: haproxy.listFile });
        const alerts = { on: ["failed"], sinks: [{ type: "webhook", url: hook.url }] };
        await writeFile(own, stringify({ ...document, audit: { path, key: "${AUDIT_HMAC_KEY}" }, alerts }));
        // Two applying runs: intent and outcome each, four records.
        expect((await runCli(["--config", own, "sync"], { env })).code).toBe(0);
        await haproxy.command(`del map ${haproxy.listFile} ${ENTRY}/32`);
        expect((await runCli(["--config", own, "sync"], { env })).code).toBe(0);
        const lines = (await readFile(path, "utf8")).trim().split("\n");
        expect(lines).toHaveLength(4);

        await writeFile(path, `${lines.slice(0, 2).join("\n")}\n`);
        await tamper(path);
        // The next sync has a change to make: the entry is gone again.
        await haproxy.command(`del map ${haproxy.listFile} ${ENTRY}/32`);
        const before = await liveEntries(haproxy);
        const refused = await runCli(["--config", own, "--output", "json", "sync"], { env });
        expect(refused.code).toBe(1);
        const result = JSON.parse(refused.stdout) as { error: { code: string; message: string }; instances: Array<{ status: string; state: string }> };
        expect(result.error).toMatchObject({ code: "E_AUDIT_TAMPERED", message: expect.stringContaining(refusal) });
        expect(result.instances).toMatchObject([{ status: "failed", state: expect.stringContaining("nothing was applied") }]);
        expect(await liveEntries(haproxy)).toEqual(before);
        expect(await readFile(path, "utf8")).toBe(`${lines.slice(0, 2).join("\n")}\n`);
        expect(hook.requests.map((r) => (r.json as { event: string }).event)).toEqual(["failed"]);
        expect((hook.requests[0]?.json as { summary: string }).summary).toContain(refusal);

        const verified = await runCli(["--config", own, "audit", "verify"], { env });
        expect(verified.code).toBe(1);
        expect(`${verified.stdout}${verified.stderr}`).toContain(named(path));
        expect(verified.stdout).not.toContain(": intact");
      } finally {
        await hook.stop();
        await haproxy.stop();
      }
    },
    60_000,
  );
});
