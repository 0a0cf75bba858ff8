import { describe, expect, it } from "vitest";
import { parseAbsenceState } from "../../../src/state/schema.js";

const GOOD = {
  version: 1,
  map: "/m.map",
  provenance: [{ sources: ["travis-dns"], entries: ["34.66.25.221/32"] }],
  entries: { "35.192.85.2/32": { firstAbsent: "2026-11-26T18:00:00.000Z", events: [{ at: "2026-11-26T18:00:00.000Z", kind: "gone" }] } },
  instances: { "unix:///a.sock": "2026-11-26T18:00:00.000Z" },
};

describe("parseAbsenceState", () => {
  it("reads a state this tool wrote", () => {
    expect(parseAbsenceState(JSON.stringify(GOOD), "/m.map")).toEqual(GOOD);
  });

  it.each([
    ["not JSON", "{"],
    ["another map's state", JSON.stringify({ ...GOOD, map: "/other.map" })],
    ["a future version", JSON.stringify({ ...GOOD, version: 2 })],
    ["a removal time that is no time", JSON.stringify({ ...GOOD, entries: { "1.2.3.4/32": { removedAt: "soon", events: [] } } })],
    ["an event of an unknown kind", JSON.stringify({ ...GOOD, entries: { "1.2.3.4/32": { events: [{ at: "2026-11-26T18:00:00.000Z", kind: "maybe" }] } } })],
    ["provenance without sources", JSON.stringify({ ...GOOD, provenance: [{ entries: [] }] })],
    ["instances that are not times", JSON.stringify({ ...GOOD, instances: { "unix:///a.sock": 5 } })],
  ])("%s is no state (it is rebuilt, and never causes a removal)", (_name, text) => {
    expect(parseAbsenceState(text, "/m.map")).toBeUndefined();
  });
});
