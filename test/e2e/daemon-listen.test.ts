import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logLines, runCli } from "../support/cli.js";
import { writeConfig } from "../support/config.js";
import { fetchText } from "../support/fetch.js";
import { liveEntries, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { tempDir } from "../support/tmp.js";

let dir: { path: string; remove: () => Promise<void> };
let h: RunningHaproxy;
let occupant: HttpReceiver;

beforeAll(async () => {
  dir = await tempDir("ta-daemon-listen-");
  h = await startHaproxy({ kind: "map", dir: dir.path, entries: ["127.0.0.5 office"] });
  occupant = await startReceiver([200]);
});
afterAll(async () => {
  await occupant.stop();
  await h.stop();
  await dir.remove();
});

describe("the daemon's metrics address", () => {
  it("already in use: exit 1 with E_METRICS_LISTEN naming the address, before any run", async () => {
    const listen = new URL(occupant.url).host;
    const config = await writeConfig(dir.path, {
      sockets: [h.unixTarget],
      map: h.listFile,
      staticEntries: ["127.0.0.21"],
      extra: { metrics: { listen } },
    });
    const run = await runCli(["--config", config, "daemon"]);
    expect(run.code).toBe(1);
    const failure = logLines(run.stderr).find((l) => (l.err as { code?: string } | undefined)?.code !== undefined);
    expect(failure?.err).toMatchObject({
      code: "E_METRICS_LISTEN",
      message: `metrics.listen ${listen} is already in use by another process (another daemon, or an exporter): free it, or set metrics.listen to another host:port`,
    });
    // Nothing ran, and the port's owner still answers.
    expect(await liveEntries(h)).toEqual(["127.0.0.5 office"]);
    expect((await fetchText(`${occupant.url}/`))?.status).toBe(200);
  });
});
