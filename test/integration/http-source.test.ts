import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redactUrl } from "../../src/util/url.js";
import { httpSource } from "../../src/sources/http.js";
import { Scrubber } from "../../src/util/secrets.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { tempDir } from "../support/tmp.js";

const DNSJSON = JSON.stringify({ results: { name: "nat.travisci.net", type: "A", records: ["34.66.25.221", "35.188.1.99"] } });
const META = JSON.stringify({ hooks: ["192.30.252.0/22"], actions: Array.from({ length: 3000 }, (_, i) => `4.${148 + (i >> 8)}.${i & 255}.0/24`) });

/** A `${VAR}` value the feed echoes back in its body. */
const BODY_SECRET = "feedbody-secret-7f3a";
const scrubber = new Scrubber([BODY_SECRET]);

let feed: HttpReceiver;
let state: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  state = await tempDir("ta-http-");
  feed = await startReceiver([404], (req, res) => {
    const path = req.path.split("?")[0];
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": type, ...headers });
      res.end(body);
    };
    switch (path) {
      case "/dnsjson":
        return send(200, "application/json", DNSJSON);
      case "/meta":
        return send(200, "application/json; charset=utf-8", META);
      case "/lines":
        return send(200, "text/plain", "# NAT\n34.66.25.221\n35.188.1.99\n");
      case "/json":
        return send(200, "application/vnd.feed+json", '["34.66.25.221/32"]');
      case "/empty":
        return send(200, "application/json", JSON.stringify({ results: { records: [] } }));
      case "/500":
        return send(500, "text/plain", "boom");
      case "/html":
        return send(200, "text/html", "<html><body>maintenance</body></html>");
      case "/html-as-json":
        return send(200, "application/json", "<!DOCTYPE html><html></html>");
      case "/wrong-type":
        return send(200, "text/plain", DNSJSON);
      case "/bad-entry":
        return send(200, "text/plain", "34.66.25.221\n0.0.0.0/0 ; clear map\n");
      case "/big":
        return send(200, "text/plain", "34.66.25.221\n".repeat(1000));
      case "/slow":
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("34.66.25.221\n");
        return;
      case "/truncated":
        res.writeHead(200, { "content-type": "text/plain", "content-length": "1000" });
        // Cut off once the first part has reached the socket: the client holds a partial body, then the connection ends.
        res.write("34.66.25.221\n", () => res.socket?.destroy());
        return;
      case "/loop":
        return send(302, "text/plain", "", { location: "/loop" });
      case "/chain/0":
      case "/chain/1":
      case "/chain/2":
      case "/chain/3":
      case "/chain/4":
        return send(302, "text/plain", "", { location: `/chain/${Number(path.slice(-1)) + 1}` });
      case "/moved":
        return send(301, "text/plain", "", { location: "/lines" });
      case "/elsewhere":
        return send(302, "text/plain", "", { location: `http://127.0.0.2:${new URL(feed.url).port}/lines` });
      case "/etag":
        if (req.headers["if-none-match"] === '"v1"') return send(304, "application/json", "");
        return send(200, "application/json", DNSJSON, { etag: '"v1"' });
      case "/echoes-token":
        // A feed that echoes the request's token in a comment line.
        if (req.headers["if-none-match"] === '"v2"') return send(304, "text/plain", "");
        return send(200, "text/plain", `# served for token=${BODY_SECRET}\n34.66.25.221\n`, { etag: '"v2"' });
      case "/echoes-token-in-etag":
        return send(200, "text/plain", "34.66.25.221\n", { etag: `"v-${BODY_SECRET}"`, "last-modified": `by ${BODY_SECRET}` });
      case "/bad-entry-echoing-token":
        return send(200, "text/plain", `34.66.25.221\n${"9".repeat(70)}${BODY_SECRET}\n`);
      case "/basic":
        // Only Basic credentials let a request in, as a feed behind a proxy with a password would.
        if (req.headers.authorization !== `Basic ${Buffer.from("feed user:p@ss:w0rd").toString("base64")}`) return send(401, "text/plain", "no");
        return send(200, "text/plain", "34.66.25.221\n");
      case "/basic-redirect":
        return send(302, "text/plain", "", { location: "/basic" });
      case "/304-without-cache":
        return send(304, "application/json", "");
      default:
        return false;
    }
  });
});
afterAll(async () => {
  await feed.stop();
  await state.remove();
});

type Format = "dnsjson" | "github-meta" | "lines" | "json";

function source(path: string, format: Format, extra: { key?: string; timeoutMs?: number; maxBytes?: number; url?: string } = {}) {
  return httpSource(
    {
      name: "feed",
      type: "http",
      url: extra.url ?? `${feed.url}${path}`,
      format,
      key: extra.key,
      timeoutMs: extra.timeoutMs ?? 2000,
      maxBytes: extra.maxBytes ?? 5 * 1024 * 1024,
    },
    { stateDir: state.path, scrubber },
  );
}

describe("http source against a real feed server", () => {
  it.each([
    ["/dnsjson", "dnsjson", undefined, 2],
    ["/meta", "github-meta", "actions", 3000],
    ["/meta", "github-meta", "hooks", 1],
    ["/lines", "lines", undefined, 2],
    ["/json", "json", undefined, 1],
    ["/moved", "lines", undefined, 2],
  ] as const)("%s as %s", async (path, format, key, count) => {
    const result = await source(path, format, key ? { key } : {}).fetch();
    // One group for the feed: its values under one provenance.
    expect(result.published).toHaveLength(1);
    expect(result.published[0]?.values).toHaveLength(count);
    expect(result.published[0]?.provenance).toEqual({ source: "feed", url: expect.stringContaining(feed.url) });
  });

  it("a redirect within the feed's origin is followed, and provenance names the URL the entries came from", async () => {
    const result = await source("/moved", "lines").fetch();
    expect(result.published[0]?.provenance).toEqual({ source: "feed", url: `${feed.url}/lines` });
  });

  it.each([
    ["/500", "dnsjson", {}, "E_SOURCE_HTTP_STATUS", "HTTP 500"],
    ["/html", "lines", {}, "E_SOURCE_HTTP_HTML", "HTML page"],
    ["/html-as-json", "dnsjson", {}, "E_SOURCE_HTTP_HTML", "HTML page"],
    ["/wrong-type", "dnsjson", {}, "E_SOURCE_HTTP_CONTENT_TYPE", "expected application/json"],
    ["/empty", "dnsjson", {}, "E_SOURCE_HTTP_EMPTY", "never trusted"],
    ["/bad-entry", "lines", {}, "E_SOURCE_HTTP_BAD_ENTRY", '"0.0.0.0/0 ; clear map" is not an address'],
    ["/big", "lines", { maxBytes: 1000 }, "E_SOURCE_HTTP_TOO_LARGE", "larger than 1000 bytes"],
    ["/slow", "lines", { timeoutMs: 300 }, "E_SOURCE_HTTP_TIMEOUT", "within 300 ms"],
    ["/truncated", "lines", {}, "E_SOURCE_HTTP_TRUNCATED", "cut off"],
    ["/loop", "lines", {}, "E_SOURCE_HTTP_REDIRECT", "redirect"],
    ["/chain/0", "lines", {}, "E_SOURCE_HTTP_REDIRECT", "redirect"],
    ["/elsewhere", "lines", {}, "E_SOURCE_HTTP_REDIRECT", "to another origin (http://127.0.0.2:"],
    ["/304-without-cache", "dnsjson", {}, "E_SOURCE_HTTP_STATUS", "no cached copy"],
  ] as const)("%s fails with %s", async (path, format, extra, code, text) => {
    const error = await source(path, format, extra)
      .fetch()
      .then(
        () => undefined,
        (err: unknown) => err as { code: string; message: string; source: string },
      );
    expect(error).toMatchObject({ code, source: "feed" });
    expect(error?.message).toContain(text);
    expect(error?.message).toContain(`source feed: ${redactUrl(`${feed.url}${path}`)}`);
  });

  it("keeps ETag in a cache file and reuses the cached body on 304", async () => {
    const before = feed.requests.length;
    const first = await source("/etag", "dnsjson").fetch();
    const second = await source("/etag", "dnsjson").fetch();
    expect(second.published).toEqual(first.published);
    const sent = feed.requests.slice(before);
    expect(sent.map((r) => r.headers["if-none-match"])).toEqual([undefined, '"v1"']);
    const files = await readdir(join(state.path, "http-cache"));
    expect(files.length).toBeGreaterThan(0);
  });

  it("never writes a URL credential to an error or the cache", async () => {
    const withSecret = `http://feeduser:s3cr3t@${feed.url.slice("http://".length)}/etag?token=s3cr3t`;
    const error = await source("", "lines", { url: withSecret.replace("/etag", "/500") })
      .fetch()
      .catch((err: Error) => err);
    expect((error as Error).message).not.toContain("s3cr3t");
    await source("", "dnsjson", { url: withSecret })
      .fetch()
      .catch(() => undefined);
    for (const file of await readdir(join(state.path, "http-cache"))) {
      expect(await readFile(join(state.path, "http-cache", file), "utf8")).not.toContain("s3cr3t");
    }
  });

  it("stores a feed body that echoes a secret scrubbed: no secret in any cache file, and the cached copy still serves a 304", async () => {
    const before = feed.requests.length;
    const first = await source("/echoes-token", "lines").fetch();
    const second = await source("/echoes-token", "lines").fetch();
    expect(feed.requests.slice(before).map((r) => r.headers["if-none-match"])).toEqual([undefined, '"v2"']);
    expect(second.published).toEqual(first.published);
    expect(first.published.flatMap((g) => g.values)).toEqual(["34.66.25.221"]);
    await source("/echoes-token-in-etag", "lines").fetch();

    const files = await readdir(join(state.path, "http-cache"));
    const texts = await Promise.all(files.map((f) => readFile(join(state.path, "http-cache", f), "utf8")));
    expect(texts.some((t) => t.includes("served for token=***"))).toBe(true);
    expect(texts.some((t) => t.includes('"etag":"\\"v-***\\""'))).toBe(true);
    expect(texts.filter((t) => t.includes(BODY_SECRET))).toEqual([]);
  });

  it("a bad entry that holds a secret is scrubbed whole before it is cut for the message", async () => {
    const error = (await source("/bad-entry-echoing-token", "lines")
      .fetch()
      .catch((err: unknown) => err)) as Error & { code: string };
    expect(error.code).toBe("E_SOURCE_HTTP_BAD_ENTRY");
    expect(error.message).toContain(`"${"9".repeat(70)}***"`);
    expect(error.message).not.toContain(BODY_SECRET.slice(0, 8));
  });

  it("sends a URL's credentials as Basic auth, percent-decoded, also after a redirect within the origin", async () => {
    const before = feed.requests.length;
    const withCredentials = (path: string) => `http://feed%20user:p%40ss%3Aw0rd@${feed.url.slice("http://".length)}${path}`;
    const result = await source("", "lines", { url: withCredentials("/basic") }).fetch();
    expect(result.published.flatMap((g) => g.values)).toEqual(["34.66.25.221"]);
    const redirected = await source("", "lines", { url: withCredentials("/basic-redirect") }).fetch();
    expect(redirected.published.flatMap((g) => g.values)).toEqual(["34.66.25.221"]);
    const sent = feed.requests.slice(before);
    expect(sent.map((r) => r.path)).toEqual(["/basic", "/basic-redirect", "/basic"]);
    expect(new Set(sent.map((r) => r.headers.authorization))).toEqual(new Set([`Basic ${Buffer.from("feed user:p@ss:w0rd").toString("base64")}`]));
  });
});
