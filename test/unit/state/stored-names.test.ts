import { describe, expect, it } from "vitest";
import type { AlertState } from "../../../src/model/alerts.js";
import { restoredAlertState, storedAlertState } from "../../../src/state/stored-alerts.js";
import { StoredNames } from "../../../src/state/stored-names.js";
import { Scrubber } from "../../../src/util/secrets.js";

const SECRET = "host-4c1e9a";
const OTHER = "name-77d0b2";
const names = new StoredNames(new Scrubber([SECRET, OTHER]), [`tcp://${SECRET}:9999`, "unix:///run/a.sock", `src-${OTHER}`, `src-${SECRET}`, "pinned"]);

describe("names as the state files hold them", () => {
  it("a name carrying a secret is stored scrubbed and read back as the configured name", () => {
    expect(names.store(`tcp://${SECRET}:9999`)).toBe("tcp://***:9999");
    expect(names.restore("tcp://***:9999")).toEqual([`tcp://${SECRET}:9999`]);
    expect(names.restore("pinned")).toEqual(["pinned"]);
    expect(names.restore("gone-from-config")).toEqual(["gone-from-config"]);
  });

  it("the removal state round-trips; a source stored ambiguously stands for every name it could be", () => {
    const state = {
      version: 1 as const,
      map: "/etc/haproxy/travis.map",
      provenance: [{ sources: [`src-${OTHER}`], entries: ["127.0.0.21/32"] }],
      entries: {},
      instances: { [`tcp://${SECRET}:9999`]: "2026-01-01T00:00:00.000Z" },
    };
    const stored = names.storedState(state);
    expect(JSON.stringify(stored)).not.toMatch(new RegExp(`${SECRET}|${OTHER}`));
    const restored = names.restoredState(stored, state.map);
    expect(restored.instances).toEqual(state.instances);
    expect(restored.provenance).toEqual([{ sources: [`src-${OTHER}`, `src-${SECRET}`].sort(), entries: ["127.0.0.21/32"] }]);
  });

  it("the alert state round-trips with its keys; summaries stay scrubbed", () => {
    const target = `tcp://${SECRET}:9999`;
    const state: AlertState = {
      version: 1,
      firing: {
        [`failed|${target}|`]: { event: "failed", target, guard: null, severity: "critical", summary: `${target} failed`, since: "t", lastSent: "t" },
        "held||maxRemovals": { event: "held", target: "", guard: "maxRemovals", severity: "warning", summary: "held", since: "t", lastSent: "t" },
      },
    };
    const stored = storedAlertState(state, names);
    expect(JSON.stringify(stored)).not.toContain(SECRET);
    const restored = restoredAlertState(stored, names);
    expect(Object.keys(restored.firing).sort()).toEqual(Object.keys(state.firing).sort());
    expect(restored.firing[`failed|${target}|`]).toMatchObject({ target, summary: "tcp://***:9999 failed" });
  });
});
