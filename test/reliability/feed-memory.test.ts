import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { RunResult } from "../../src/model/result.js";
import { configDocument } from "../support/config.js";
import { liveEntries, startHaproxy } from "../support/haproxy.js";
import { startReceiver } from "../support/http-receiver.js";
import { imageNodeOptions, runCliMeasured } from "../support/measured-cli.js";
import { recordFigure } from "../support/reliability.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** An http source's default maxBytes: the largest feed the tool accepts without configuration. */
const MAX_FEED_BYTES = 5 * 1024 * 1024;

/** As many distinct public /32s as fit in the largest feed, one per line: the hostile feed of the bounded-memory case. */
function largestFeed(): string[] {
  const values: string[] = [];
  let bytes = 0;
  for (let i = 0; ; i++) {
    const value = `3.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;
    if (bytes + value.length + 1 > MAX_FEED_BYTES) return values;
    bytes += value.length + 1;
    values.push(value);
  }
}

/** Bodies in each format, each under the size limit, with the same values. */
const BODIES: Record<"lines" | "json", (values: string[]) => { type: string; body: string }> = {
  lines: (values) => ({ type: "text/plain", body: `${values.join("\n")}\n` }),
  json: (values) => ({ type: "application/json", body: JSON.stringify(values) }),
};

/**
 * Node's heap as the image sizes it for a 256 MiB container (the Dockerfile's
 * NODE_OPTIONS, which the manifests repeat): V8 otherwise grows its heap to
 * several times what is alive before it collects, whatever the tool keeps.
 */
const AS_DEPLOYED = imageNodeOptions();

/** A loopback feed serving `body`, and a real HAProxy with an empty map, both stopped after the test. */
async function feedAndHaproxy(type: string, body: string) {
  const feed = await startReceiver([404], (req, res) => {
    if (req.path !== "/feed") return false;
    res.writeHead(200, { "content-type": type });
    res.end(body);
  });
  const h = await startHaproxy({ kind: "map" });
  cleanups.push(
    () => feed.stop(),
    () => h.stop(),
  );
  return { feed, h };
}

describe("the largest feed the tool accepts, within a 256 MiB container", () => {
  it.each(["lines", "json"] as const)(
    "a 5 MB %s feed of /32s is resolved and planned into a real HAProxy under 256 MiB peak RSS",
    async (format) => {
      const lines = largestFeed();
      // The JSON spelling carries quotes and commas: the same addresses, cut to the same byte limit.
      const values = format === "lines" ? lines : lines.slice(0, fittingAsJson(lines));
      const { type, body } = BODIES[format](values);
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_FEED_BYTES);
      const { feed, h } = await feedAndHaproxy(type, body);
      const config = join(h.dir, "travis-allowlist.yaml");
      const document = configDocument({
        sockets: [h.unixTarget],
        map: h.listFile,
        extra: {
          sources: [{ name: "big-feed", type: "http", url: `${feed.url}/feed`, format }],
          // The breadth of 371,000 addresses is what guards.maxAddresses exists to hold; here the memory is measured.
          guards: { maxAddresses: 1_000_000, maxAdditions: 1_000_000 },
        },
      });
      await writeFile(config, stringify(document));

      const run = await runCliMeasured(["--config", config, "--output", "json", "--log-level", "warn", "sync", "--dry-run"], {
        timeoutMs: 120_000,
        nodeOptions: AS_DEPLOYED,
      });
      const result = JSON.parse(run.stdout) as RunResult;
      expect(run.code).toBe(0);
      expect(result.desired.count).toBe(values.length);
      expect(result.instances).toMatchObject([{ target: h.unixTarget, status: "planned" }]);
      expect(result.instances[0]?.add).toHaveLength(values.length);
      expect(run.peakRssMib).toBeLessThan(256);
      recordFigure(`feed-${format}-entries`, values.length);
      recordFigure(`feed-${format}-dry-run-peak-rss-mib`, Math.round(run.peakRssMib));
      recordFigure(`feed-${format}-dry-run-seconds`, Math.round(run.seconds * 10) / 10);
    },
    240_000,
  );

  it("a 5 MB feed of /32s with the default guards: a real sync is held by guards.maxAddresses (exit 3), nothing applied, under 256 MiB peak RSS", async () => {
    const values = largestFeed();
    const { feed, h } = await feedAndHaproxy("text/plain", BODIES.lines(values).body);
    const config = join(h.dir, "travis-allowlist.yaml");
    // The product's guards: only the test helper's own settings (loopback sources, no grace period).
    const document = configDocument({
      sockets: [h.unixTarget],
      map: h.listFile,
      extra: { sources: [{ name: "big-feed", type: "http", url: `${feed.url}/feed`, format: "lines" }] },
    });
    await writeFile(config, stringify(document));

    const run = await runCliMeasured(["--config", config, "--output", "json", "--log-level", "warn", "sync"], {
      timeoutMs: 120_000,
      nodeOptions: AS_DEPLOYED,
    });
    const result = JSON.parse(run.stdout) as RunResult;
    expect(run.code).toBe(3);
    expect(result.held?.guard).toBe("maxAddresses");
    expect(result.desired.count).toBe(values.length);
    expect(await liveEntries(h)).toEqual([]);
    expect(run.peakRssMib).toBeLessThan(256);
    recordFigure("feed-lines-held-sync-peak-rss-mib", Math.round(run.peakRssMib));
    recordFigure("feed-lines-held-sync-seconds", Math.round(run.seconds * 10) / 10);
  }, 240_000);
});

/** How many of the values fit in the limit as a JSON array of strings. */
function fittingAsJson(values: string[]): number {
  let bytes = 2;
  let count = 0;
  for (const value of values) {
    bytes += value.length + 3;
    if (bytes > MAX_FEED_BYTES) return count;
    count++;
  }
  return count;
}
