import { afterEach, describe, expect, it } from "vitest";
import { HaproxyInstance } from "../../src/haproxy/runtime.js";
import { haproxyBinaries, liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";

const OPTIONS = { timeoutMs: 5000 };
const running: RunningHaproxy[] = [];
const open: HaproxyInstance[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()));
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

async function operatorSocket(bin: string): Promise<{ h: RunningHaproxy; instance: HaproxyInstance }> {
  const h = await startHaproxy({ bin, kind: "map", entries: ["127.0.0.5 office"], level: "operator" });
  running.push(h);
  const instance = await HaproxyInstance.connect(h.unixTarget, OPTIONS);
  open.push(instance);
  return { h, instance };
}

const CONTENT = [
  { key: "127.0.0.5", value: "office" },
  { key: "34.66.25.221/32", value: "travis" },
];

describe.each(haproxyBinaries())("a stats socket at level operator, on HAProxy $version", ({ bin, version }) => {
  const twoX = version.startsWith("2.");

  it.skipIf(!twoX)("2.x reads, matches and replaces the map at level operator: nothing to report", async () => {
    const { h, instance } = await operatorSocket(bin);
    const { entries, snapshot } = await instance.readList("map", h.listFile);
    expect(entries.map((e) => e.key)).toEqual(["127.0.0.5"]);
    expect(await instance.match("map", h.listFile, ["127.0.0.5"])).toEqual([{ address: "127.0.0.5", found: true, key: "127.0.0.5", value: "office" }]);
    await instance.replace("map", h.listFile, CONTENT, snapshot);
    expect(await liveEntries(h)).toEqual(["127.0.0.5 office", "34.66.25.221/32 travis"]);
  });

  it.skipIf(twoX)("3.x refuses map commands at level operator: E_HAPROXY_PERMISSION names the stats socket line to write, on one line", async () => {
    const { h, instance } = await operatorSocket(bin);
    const socketPath = h.unixTarget.slice("unix://".length);
    const refused = await instance.readList("map", h.listFile).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toMatchObject({
      code: "E_HAPROXY_PERMISSION",
      message: expect.stringContaining(`show map was refused: Permission denied. HAProxy ${version} allows map and ACL commands only`),
    });
    expect((refused as Error).message).toContain(`in haproxy.cfg write "stats socket ${socketPath} mode 660 level admin" and reload HAProxy`);
    expect((refused as Error).message).not.toContain("\n");
    await expect(instance.replace("map", h.listFile, CONTENT)).rejects.toMatchObject({ code: "E_HAPROXY_PERMISSION", liveState: "unchanged" });
    // Read back over the TCP socket, which is at level admin: the operator socket may not even show the map.
    const admin = await HaproxyInstance.connect(h.tcpTarget, OPTIONS);
    open.push(admin);
    expect((await admin.readList("map", h.listFile)).entries.map((e) => `${e.key} ${e.value ?? ""}`)).toEqual(["127.0.0.5 office"]);
  });
});
