import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/record.js";
import type { ReviewedPlan } from "../../src/model/reviewed-plan.js";
import type { RunResult } from "../../src/model/result.js";
import { runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

const running: RunningHaproxy[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

/** Four new entries against one owned: maxAdditions holds the run. */
async function setup() {
  const h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office", "127.0.0.21/32 travis"] });
  running.push(h);
  const entries = ["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24", "127.0.0.25"];
  const config = await writeConfig(h.dir, { staticEntries: entries, sockets: [h.unixTarget], map: h.listFile, extra: { guards: { maxAdditions: 1 } } });
  return { h, config, plan: join(h.dir, "reviewed.plan.json"), audit: join(h.dir, "audit.jsonl") };
}

const json = (stdout: string) => JSON.parse(stdout) as RunResult;
const fileDigest = async (path: string) =>
  `sha256:${createHash("sha256")
    .update(await readFile(path))
    .digest("hex")}`;

describe("reviewed plans", () => {
  it("--plan-out says where the plan was saved with the file's sha256, and a held run points at sync --plan with that file", async () => {
    const { config, plan } = await setup();
    const dry = await runCli(["--config", config, "sync", "--dry-run", "--plan-out", plan]);
    expect(dry.code).toBe(3);
    const digest = await fileDigest(plan);
    expect(dry.stdout).toContain(
      `Plan saved to ${plan} (${digest}): check the Travis IP page, then approve exactly this change: travis-allowlist sync --plan ${plan}\n`,
    );
    expect(dry.stdout).not.toContain("--plan-out");
    expect(dry.stdout.split("approve exactly this change")).toHaveLength(2);
    const again = await runCli(["--config", config, "--output", "json", "sync", "--dry-run", "--plan-out", plan]);
    expect(JSON.parse(again.stdout)).toMatchObject({ exitCode: 3, savedPlan: { path: plan, digest: await fileDigest(plan) } });
  });

  it("a plan no guard held is applied without a word about reviewed guards", async () => {
    const { h, plan } = await setup();
    const roomy = await writeConfig(
      h.dir,
      { staticEntries: ["127.0.0.21", "127.0.0.22"], sockets: [h.unixTarget], map: h.listFile, extra: { guards: { maxAdditions: 10 } } },
      "roomy.yaml",
    );
    const dry = await runCli(["--config", roomy, "sync", "--dry-run", "--plan-out", plan]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`Plan saved to ${plan} (${await fileDigest(plan)}): review it, then apply exactly it: travis-allowlist sync --plan ${plan}\n`);
    const applied = await runCli(["--config", roomy, "sync", "--plan", plan]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/\nReviewed plan of \S+ \(sha256:[0-9a-f]{64}\)\.\n/);
    expect(applied.stdout).not.toContain("reviewed with it");
    expect(await liveEntries(h)).toEqual(["127.0.0.21/32 travis", "127.0.0.22/32 travis", "127.0.0.5 office"]);
  });

  it("a held plan is saved, reviewed and applied exactly; the audit trail names it and who applied it", async () => {
    const { h, config, plan, audit } = await setup();
    const dry = await runCli(["--config", config, "--output", "json", "sync", "--dry-run", "--plan-out", plan]);
    expect(dry.code).toBe(3);
    const saved = JSON.parse(await readFile(plan, "utf8")) as ReviewedPlan;
    expect(saved).toMatchObject({
      version: 1,
      held: "maxAdditions",
      instances: [{ target: h.unixTarget, add: expect.arrayContaining(["127.0.0.25/32"]), remove: [] }],
    });
    expect(saved.instances[0]?.add).toHaveLength(4);

    const applied = await runCli(["--config", config, "--output", "json", "sync", "--plan", plan]);
    expect(applied.code).toBe(0);
    // The audit trail records the file's own digest, as sha256sum prints it.
    expect(json(applied.stdout).reviewedPlan?.digest).toBe(await fileDigest(plan));
    expect(json(applied.stdout)).toMatchObject({ held: null, forced: false, reviewedPlan: { createdAt: saved.createdAt } });
    expect(await liveEntries(h)).toHaveLength(6);
    expect(await h.statusFrom("127.0.0.25")).toBe(200);
    const records = (await readFile(audit, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AuditRecord);
    const intent = records.find((r) => r.event === "intent");
    expect(intent?.reviewedPlan).toEqual(json(applied.stdout).reviewedPlan);
    expect(intent?.actor.user).toEqual(expect.any(String));
  });

  it("a plan made stale by a change to the live map is refused, nothing applied, saying what moved", async () => {
    const { h, config, plan } = await setup();
    expect((await runCli(["--config", config, "sync", "--dry-run", "--plan-out", plan])).code).toBe(3);
    await h.command(`add map ${h.listFile} 127.0.0.99 travis`);
    const before = await liveEntries(h);
    const refused = await runCli(["--config", config, "--output", "json", "sync", "--plan", plan]);
    expect(refused.code).toBe(1);
    expect(json(refused.stdout).error).toMatchObject({ code: "E_PLAN_STALE", message: expect.stringContaining(`${h.unixTarget}: its live list changed`) });
    expect(await liveEntries(h)).toEqual(before);
  });

  it("a plan is applied once: after the live list is put back by hand, the same plan is refused, naming the run that applied it", async () => {
    const { h, config, plan, audit } = await setup();
    expect((await runCli(["--config", config, "sync", "--dry-run", "--plan-out", plan])).code).toBe(3);
    const applied = await runCli(["--config", config, "--output", "json", "sync", "--plan", plan]);
    expect(applied.code).toBe(0);
    const { runId } = json(applied.stdout);
    const intent = (await readFile(audit, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AuditRecord)
      .find((r) => r.event === "intent" && r.runId === runId);
    expect(intent).toBeDefined();

    // Back to the live list the plan was made from: without its single use, the plan would apply again.
    for (const entry of ["127.0.0.22", "127.0.0.23", "127.0.0.24", "127.0.0.25"]) await h.command(`del map ${h.listFile} ${entry}/32`);
    const before = await liveEntries(h);
    expect(before).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
    const replayed = await runCli(["--config", config, "--output", "json", "sync", "--plan", plan]);
    expect(replayed.code).toBe(1);
    expect(JSON.parse(replayed.stdout)).toMatchObject({
      exitCode: 1,
      error: {
        code: "E_PLAN_STALE",
        message: expect.stringContaining(`was already applied by run ${runId} at ${intent?.time} (audit record #${intent?.seq}, intent)`),
      },
    });
    expect(await liveEntries(h)).toEqual(before);
  });

  it("--plan-out needs --dry-run, --plan refuses --force, and a file that is not a plan is named as such", async () => {
    const { config, plan, h } = await setup();
    expect((await runCli(["--config", config, "sync", "--plan-out", plan])).code).toBe(64);
    expect((await runCli(["--config", config, "sync", "--plan", plan, "--force"])).code).toBe(64);
    const notPlan = await runCli(["--config", config, "--output", "json", "sync", "--plan", join(h.dir, "haproxy.cfg")]);
    expect(notPlan.code).toBe(1);
    expect(JSON.parse(notPlan.stdout)).toMatchObject({ error: { code: "E_PLAN_INVALID" } });
  });

  it("a plan made for one instance applies to that instance without --instance again, and says it was reviewed, not forced", async () => {
    const { h, plan } = await setup();
    const other = await startHaproxy({ kind: "map", listFile: h.listFile, keepListFile: true });
    running.push(other);
    const both = await writeConfig(
      h.dir,
      {
        staticEntries: ["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24", "127.0.0.25"],
        sockets: [h.unixTarget, other.unixTarget],
        map: h.listFile,
        extra: { guards: { maxAdditions: 1 } },
      },
      "both.yaml",
    );
    expect((await runCli(["--config", both, "sync", "--dry-run", "--plan-out", plan, "--instance", h.unixTarget])).code).toBe(3);
    const applied = await runCli(["--config", both, "sync", "--plan", plan]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/Reviewed plan of \S+ \(sha256:[0-9a-f]{64}\); these guards were reviewed with it:/);
    expect(applied.stdout).not.toContain("set aside by --force");
    expect(await liveEntries(h)).toHaveLength(6);
    expect(await liveEntries(other)).toEqual(["127.0.0.21/32 travis", "127.0.0.5 office"]);
  });
});
