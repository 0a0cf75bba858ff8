import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { loadConfig } from "../../../src/config/load.js";
import { parseConfig } from "../../../src/config/parse.js";
import { tempDir } from "../../support/tmp.js";

const SOURCE_NAME = "srcname-secret-4e2a";
const TOKEN = "hook-token-8c1d5f";

function document(secondName: string) {
  return {
    sources: [
      { name: "${SRCNAME}", type: "static", entries: ["127.0.0.31/32"] },
      { name: secondName, type: "static", entries: ["127.0.0.32/32"] },
    ],
    haproxy: { sockets: ["unix:///run/haproxy/admin.sock"], map: "/etc/haproxy/maps/travis.map" },
    alerts: { sinks: [{ type: "webhook", url: "https://hooks.example/allowlist", headers: { Authorization: `Bearer ${TOKEN}` } }] },
  };
}

async function configFile(secondName: string): Promise<string> {
  const dir = await tempDir("ta-load-");
  const path = join(dir.path, "travis-allowlist.yaml");
  await writeFile(path, stringify(document(secondName)));
  return path;
}

describe("loadConfig and the secrets it finds", () => {
  it("returns every ${VAR} value and literal credential, for the caller's scrubber", async () => {
    const loaded = await loadConfig(await configFile("pinned"), { SRCNAME: SOURCE_NAME });
    expect(loaded.secrets).toEqual(expect.arrayContaining([SOURCE_NAME, TOKEN]));
  });

  it("scrubs a config error that quotes a ${VAR} value before it is thrown (no scrubber knows it yet)", async () => {
    const failure = await loadConfig(await configFile("${SRCNAME}"), { SRCNAME: SOURCE_NAME }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: "E_CONFIG_INVALID", message: expect.stringContaining('duplicate source name "***"') });
    expect((failure as Error).message).not.toContain(SOURCE_NAME);
  });
});

describe("parseConfig", () => {
  it("returns the secrets it found with the issues too, as an issue may quote one", () => {
    const parsed = parseConfig(JSON.stringify(document("${SRCNAME}")), { SRCNAME: SOURCE_NAME });
    expect(parsed.issues).toEqual([expect.objectContaining({ message: expect.stringContaining(SOURCE_NAME) })]);
    expect(parsed.secrets).toEqual([SOURCE_NAME]);
  });
});
