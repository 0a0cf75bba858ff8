import { createServer } from "node:https";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AllowlistError, type ErrorCode } from "../../src/errors.js";
import { type HttpCall, send } from "../../src/http/client.js";
import type { HttpFailure, HttpFailureKind } from "../../src/http/failure.js";
import { type HttpReceiver, startReceiver } from "../support/http-receiver.js";
import { listenOnLoopback } from "../support/listen.js";
import { freePort } from "../support/ports.js";
import { until } from "../support/wait.js";
import { loopbackCertificate } from "../support/tls.js";

/** How a caller names each failure: here, as a feed does. */
const CODES: Record<HttpFailureKind, ErrorCode> = {
  timeout: "E_SOURCE_HTTP_TIMEOUT",
  connection: "E_SOURCE_HTTP_NETWORK",
  tls: "E_SOURCE_HTTP_NETWORK",
  "cut-off": "E_SOURCE_HTTP_TRUNCATED",
  "too-large": "E_SOURCE_HTTP_TOO_LARGE",
  redirect: "E_SOURCE_HTTP_REDIRECT",
};

class NamedFailure extends AllowlistError {
  constructor(readonly failure: HttpFailure) {
    super(CODES[failure.kind], `${failure.kind}: ${failure.detail}`, { cause: failure.cause });
  }
}

const fail = (failure: HttpFailure) => new NamedFailure(failure);

function get(url: string, extra: Partial<HttpCall> = {}) {
  return send({ method: "GET", url, timeoutMs: 2000, fail, ...extra });
}

/** What `send` or a read rejected with: always the caller's error. */
async function failure(promise: Promise<unknown>): Promise<NamedFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NamedFailure);
  return err as NamedFailure;
}

let server: HttpReceiver;
let written = 0;
let floodClosed = false;
const TOKEN_PATH = "T0KEN9a8b7c6d";

beforeAll(async () => {
  server = await startReceiver([404], (req, res) => {
    const [path] = req.path.split("?");
    const redirect = (location: string) => {
      res.writeHead(302, { location });
      res.end();
    };
    const hop = /^\/hop\/(\d+)$/.exec(path ?? "");
    if (hop) {
      // Each hop answers in time on its own; together they do not.
      setTimeout(() => redirect(`/hop/${Number(hop[1]) + 1}`), 100);
      return;
    }
    switch (path) {
      case "/ok":
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("0123456789");
        return;
      case "/first":
        return redirect("/second");
      case "/second":
        return redirect("/ok");
      case "/loop":
        return redirect("/loop");
      case "/elsewhere":
        return redirect(`http://127.0.0.2:${new URL(server.url).port}/feed/${TOKEN_PATH}`);
      case "/invalid":
        return redirect("http://[::1");
      case "/flood": {
        res.writeHead(500, { "content-type": "text/plain" });
        res.once("close", () => (floodClosed = true));
        const block = Buffer.alloc(64 * 1024, "x");
        const pump = () => {
          while (!res.destroyed && res.write(block)) written += block.length;
          if (!res.destroyed) res.once("drain", pump);
        };
        return pump();
      }
      case "/cut":
        res.writeHead(200, { "content-type": "text/plain", "content-length": "1000" });
        res.write("0123456789", () => res.socket?.destroy());
        return;
      case "/stall":
        res.writeHead(200, { "content-type": "text/plain", "content-length": "1000" });
        res.write("0123456789");
        return;
      case "/hang":
        return;
      default:
        return false;
    }
  });
});
afterAll(async () => {
  await server.stop();
});

describe("HTTP client against a real node:http server on loopback", () => {
  it("sends its user agent and a URL's credentials as Basic auth, percent-decoded; a configured Authorization header wins", async () => {
    const before = server.requests.length;
    const withCredentials = `http://feed%20user:p%40ss@${server.url.slice("http://".length)}/ok`;
    const plain = await get(withCredentials);
    expect((await plain.read(100)).toString()).toBe("0123456789");
    expect(plain.url).toBe(`${server.url}/ok`);
    await (await get(withCredentials, { headers: { Authorization: "Bearer own" } })).discard();
    const sent = server.requests.slice(before);
    expect(sent.map((r) => r.headers["user-agent"])).toEqual(["travis-allowlist", "travis-allowlist"]);
    expect(sent.map((r) => r.headers.authorization)).toEqual([`Basic ${Buffer.from("feed user:p@ss").toString("base64")}`, "Bearer own"]);
  });

  it("POSTs its body with the caller's headers", async () => {
    const before = server.requests.length;
    const response = await send({
      method: "POST",
      url: `${server.url}/ok`,
      headers: { "content-type": "application/json" },
      body: '{"a":1}',
      timeoutMs: 2000,
      fail,
    });
    expect(response.status).toBe(200);
    expect(server.requests.slice(before)).toMatchObject([{ method: "POST", path: "/ok", headers: { "content-type": "application/json" }, json: { a: 1 } }]);
  });

  it("follows redirects within the origin, with the credentials, and names the URL that answered", async () => {
    const before = server.requests.length;
    const response = await get(`http://u:pw@${server.url.slice("http://".length)}/first`, { maxRedirections: 3 });
    expect(response.status).toBe(200);
    expect(response.url).toBe(`${server.url}/ok`);
    const sent = server.requests.slice(before);
    expect(sent.map((r) => r.path)).toEqual(["/first", "/second", "/ok"]);
    expect(new Set(sent.map((r) => r.headers.authorization))).toEqual(new Set([`Basic ${Buffer.from("u:pw").toString("base64")}`]));
  });

  it("without a redirect policy a 3xx is the answer", async () => {
    const before = server.requests.length;
    const response = await get(`${server.url}/first`);
    await response.discard();
    expect({ status: response.status, location: response.header("location") }).toEqual({ status: 302, location: "/second" });
    expect(server.requests.length - before).toBe(1);
  });

  it.each([
    ["/elsewhere", 3, `302 to another origin (http://127.0.0.2:`, 1],
    ["/loop", 2, "302: too many redirects (more than 2)", 3],
    ["/invalid", 3, "302 to an invalid location", 1],
  ])("refuses the redirect of %s", async (path, maxRedirections, text, asked) => {
    const before = server.requests.length;
    const error = await failure(get(`${server.url}${path}`, { maxRedirections }));
    expect(error).toMatchObject({ code: "E_SOURCE_HTTP_REDIRECT", failure: { kind: "redirect", phase: "request" } });
    expect(error.failure.detail).toContain(text);
    expect(error.failure.detail).not.toContain(TOKEN_PATH);
    expect(server.requests.length - before).toBe(asked);
  });

  it("another origin is named with the one that is trusted", async () => {
    const error = await failure(get(`${server.url}/elsewhere`, { maxRedirections: 3 }));
    expect(error.failure.detail).toContain(`refused, only ${server.url} is trusted`);
  });

  it("one deadline covers every redirect: hops that each answer in time fail together", async () => {
    // A deadline per hop would end in "too many redirects" instead.
    const error = await failure(get(`${server.url}/hop/0`, { maxRedirections: 10, timeoutMs: 300 }));
    expect(error).toMatchObject({ code: "E_SOURCE_HTTP_TIMEOUT", failure: { kind: "timeout", phase: "request" } });
  });

  it("a server that never answers times out before the status line", async () => {
    const error = await failure(get(`${server.url}/hang`, { timeoutMs: 300 }));
    expect(error).toMatchObject({ code: "E_SOURCE_HTTP_TIMEOUT", failure: { kind: "timeout", phase: "request" } });
  });

  it("a body that stalls times out under the same deadline", async () => {
    const response = await get(`${server.url}/stall`, { timeoutMs: 300 });
    const error = await failure(response.read(10_000));
    expect(error).toMatchObject({ code: "E_SOURCE_HTTP_TIMEOUT", failure: { kind: "timeout", phase: "body" } });
  });

  it("a body cut off by the connection is cut-off, named by its code", async () => {
    const response = await get(`${server.url}/cut`);
    const error = await failure(response.read(10_000));
    expect(error).toMatchObject({ code: "E_SOURCE_HTTP_TRUNCATED", failure: { kind: "cut-off", phase: "body", detail: expect.stringMatching(/^[A-Z_]+$/) } });
  });

  it.each([
    [10, "0123456789"],
    [9, undefined],
  ])("reads a 10-byte body within a limit of %i, or refuses it as too large", async (limit, expected) => {
    const response = await get(`${server.url}/ok`);
    const read = response.read(limit);
    if (expected === undefined) {
      expect(await failure(read)).toMatchObject({ code: "E_SOURCE_HTTP_TOO_LARGE", failure: { kind: "too-large", phase: "body" } });
    } else {
      expect((await read).toString()).toBe(expected);
    }
  });

  it("reads only the start of a flood, and stops receiving it", async () => {
    const response = await get(`${server.url}/flood`, { timeoutMs: 10_000 });
    const start = await response.readStart(4096);
    expect({ status: response.status, length: start.length }).toEqual({ status: 500, length: 4096 });
    // The server only stops writing when the client lets go of the connection: backpressure alone would stall it forever.
    await until(() => floodClosed, "the flood's connection closed by the client");
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it("a refused connection is a connection failure named by its code", async () => {
    const port = await freePort();
    const error = await failure(get(`http://127.0.0.1:${port}/ok`));
    expect(error).toMatchObject({ code: "E_SOURCE_HTTP_NETWORK", failure: { kind: "connection", phase: "request", detail: "ECONNREFUSED" } });
  });
});

describe("HTTP client over TLS", () => {
  const { key, cert } = loopbackCertificate();
  const trusting = new Agent({ connect: { ca: cert } });
  let url: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const tls = createServer({ key, cert }, (_req, res) => res.end("ok"));
    const listening = await listenOnLoopback(tls);
    url = `https://127.0.0.1:${listening.port}/`;
    close = listening.close;
  });
  afterAll(async () => {
    await close();
    await trusting.close();
  });

  it("an untrusted certificate is a TLS failure named by its code", async () => {
    const error = await failure(get(url));
    expect(error).toMatchObject({ code: "E_SOURCE_HTTP_NETWORK", failure: { kind: "tls", phase: "request", detail: "DEPTH_ZERO_SELF_SIGNED_CERT" } });
  });

  it("the caller's dispatcher brings the CA that trusts it", async () => {
    const response = await get(url, { dispatcher: trusting });
    expect((await response.read(100)).toString()).toBe("ok");
  });
});
