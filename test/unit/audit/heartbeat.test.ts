import { describe, expect, it } from "vitest";
import { needsRecord } from "../../../src/audit/heartbeat.js";

const HOUR = 3_600_000;
const base = {
  event: "in-sync" as const,
  configDigest: "sha256:c",
  desired: { count: 2, digest: "sha256:d" },
  sources: [{ name: "travis", type: "dns", status: "ok" as const, count: 2, digest: "sha256:s", durationMs: 12, error: null }],
  instances: [
    {
      target: "unix:///a.sock",
      haproxyVersion: "2.6",
      add: [],
      remove: [],
      outcome: "in-sync",
      pendingRemoval: [],
      committedVersion: null,
      error: null,
      state: null,
    },
  ],
  held: null,
  error: null,
  time: "2026-11-26T18:00:00.000Z",
};
const later = (ms: number) => new Date(Date.parse(base.time) + ms).toISOString();

describe("needsRecord", () => {
  it.each([
    ["the same in-sync run a minute later", { ...base, time: later(60_000) }, base, HOUR, false],
    ["the same run once the heartbeat is due", { ...base, time: later(HOUR) }, base, HOUR, true],
    ["the same run with the heartbeat off", { ...base, time: later(60_000) }, base, 0, true],
    ["a source that took longer, otherwise the same", { ...base, time: later(60_000), sources: [{ ...base.sources[0]!, durationMs: 900 }] }, base, HOUR, false],
    ["another desired set", { ...base, time: later(60_000), desired: { count: 3, digest: "sha256:e" } }, base, HOUR, true],
    [
      "a pending removal appeared",
      { ...base, time: later(60_000), instances: [{ ...base.instances[0]!, pendingRemoval: [{ entry: "34.1.1.1/32", removeAt: later(HOUR) }] }] },
      base,
      HOUR,
      true,
    ],
    ["after a change", { ...base, time: later(60_000) }, { ...base, event: "applied" as const }, HOUR, true],
    ["an applied run", { ...base, event: "applied" as const, time: later(60_000) }, base, HOUR, true],
    ["the first run", base, undefined, HOUR, true],
  ])("%s: recorded %s", (_name, body, last, heartbeatMs, expected) => {
    expect(needsRecord(body as never, last as never, heartbeatMs)).toBe(expected);
  });
});
