import { describe, expect, it } from "vitest";
import { SourceError } from "../../../src/errors.js";
import { parseFeed } from "../../../src/sources/formats.js";
import { Scrubber } from "../../../src/util/secrets.js";

const ORIGIN = { source: "travis-feed", url: "https://example.test/***", scrubber: new Scrubber() };
const DNSJSON = JSON.stringify({ results: { name: "nat.travisci.net", type: "A", records: ["34.66.25.221", "35.188.1.99"] } });
const META = JSON.stringify({ verifiable_password_authentication: false, hooks: ["192.30.252.0/22"], actions: ["4.148.0.0/16", "2a01:111:f403::/48"] });

describe("parseFeed", () => {
  it.each([
    ["dnsjson", DNSJSON, undefined, ["34.66.25.221", "35.188.1.99"]],
    ["github-meta", META, "actions", ["4.148.0.0/16", "2a01:111:f403::/48"]],
    ["github-meta", META, "hooks", ["192.30.252.0/22"]],
    ["lines", "# Travis NAT\n34.66.25.221\n\n35.188.1.99  # us-central1\r\n", undefined, ["34.66.25.221", "35.188.1.99"]],
    ["lines", "34.66.25.221\n35.188.1.99 # a comment two lines on\n\n104.154.113.151", undefined, ["34.66.25.221", "35.188.1.99", "104.154.113.151"]],
    ["lines", "#a\r\n  34.66.25.221#b#c\r\n\t35.188.1.99\t\r\n# last", undefined, ["34.66.25.221", "35.188.1.99"]],
    ["json", '["34.66.25.221/32"]', undefined, ["34.66.25.221/32"]],
    ["json", '{"ips":["34.66.25.221"]}', "ips", ["34.66.25.221"]],
  ] as const)("%s (%s)", (format, body, key, expected) => {
    expect(parseFeed(format, body, key, ORIGIN)).toEqual(expected);
  });

  it.each([
    ["dnsjson", JSON.stringify({ results: { records: [] } }), undefined, "E_SOURCE_HTTP_EMPTY"],
    ["lines", "# nothing here\n\n", undefined, "E_SOURCE_HTTP_EMPTY"],
    ["dnsjson", "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", undefined, "E_SOURCE_HTTP_HTML"],
    ["lines", "  <html>oops</html>", undefined, "E_SOURCE_HTTP_HTML"],
    ["dnsjson", '{"results":{"records":["34.66.25.221"', undefined, "E_SOURCE_HTTP_PARSE"],
    ["dnsjson", '{"result":{}}', undefined, "E_SOURCE_HTTP_SHAPE"],
    ["dnsjson", '{"results":{"records":"34.66.25.221"}}', undefined, "E_SOURCE_HTTP_SHAPE"],
    ["github-meta", META, "nope", "E_SOURCE_HTTP_SHAPE"],
    ["json", '{"ips":[1,2]}', "ips", "E_SOURCE_HTTP_SHAPE"],
    ["json", '{"ips":[]}', undefined, "E_SOURCE_HTTP_SHAPE"],
    ["json", '{"ips":["34.66.25.221", null]}', "ips", "E_SOURCE_HTTP_SHAPE"],
    ["github-meta", META, "constructor", "E_SOURCE_HTTP_SHAPE"],
  ] as const)("%s refuses %j with %s", (format, body, key, code) => {
    expect(() => parseFeed(format, body, key, ORIGIN)).toThrow(expect.objectContaining({ code }));
    // The source's own error class, naming the source and the (redacted) URL, as a failed download does.
    expect(() => parseFeed(format, body, key, ORIGIN)).toThrow(SourceError);
    expect(() => parseFeed(format, body, key, ORIGIN)).toThrow(
      expect.objectContaining({ source: "travis-feed", message: expect.stringMatching(/^source travis-feed: https:\/\/example\.test\/\*\*\*: /) }),
    );
  });
});

describe("hostile JSON", () => {
  it("a document nested 200,000 levels deep is refused by its depth, before parsing", () => {
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    expect(() => parseFeed("json", deep, undefined, ORIGIN)).toThrow(
      expect.objectContaining({ code: "E_SOURCE_HTTP_SHAPE", message: expect.stringContaining("200000 levels") }),
    );
  });

  it("brackets inside strings do not count", () => {
    expect(parseFeed("json", `{"x":"${"[".repeat(100)}","list":["34.66.25.221/32"]}`, "list", ORIGIN)).toEqual(["34.66.25.221/32"]);
  });
});

describe("a secret a feed echoes never reaches an error message in part", () => {
  const secret = "zq7json-secret-c0ffee42";
  const origin = { ...ORIGIN, scrubber: new Scrubber([secret]) };

  it.each([
    // V8 quotes a snippet of the body cut at ten characters: here inside the secret.
    ["json", `{"a": x${secret}}`, undefined, "E_SOURCE_HTTP_PARSE"],
    // A bad value is shown cut at 60 characters, which falls inside the secret.
    ["json", JSON.stringify({ ips: [{ note: `${"n".repeat(40)}${secret}` }] }), "ips", "E_SOURCE_HTTP_SHAPE"],
  ] as const)("%s %j", (format, body, key, code) => {
    let message = "";
    try {
      parseFeed(format, body, key, origin);
    } catch (err) {
      expect(err).toMatchObject({ code });
      message = (err as Error).message;
    }
    expect(message).not.toBe("");
    expect(message).not.toContain(secret.slice(0, 3));
  });
});
