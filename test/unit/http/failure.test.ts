import { errors } from "undici";
import { describe, expect, it } from "vitest";
import { classifyHttpError, type HttpFailureKind, type HttpPhase } from "../../../src/http/failure.js";

const systemError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1 https://user:secret@feed.example/x`), { code });

describe("classifyHttpError: what undici or the socket threw, as a kind the caller names", () => {
  it.each<[string, unknown, HttpPhase, HttpFailureKind, string]>([
    [
      "the deadline's signal before an answer",
      new DOMException("The operation was aborted due to timeout", "TimeoutError"),
      "request",
      "timeout",
      "TimeoutError",
    ],
    ["the deadline's signal while the body arrives", new DOMException("aborted", "TimeoutError"), "body", "timeout", "TimeoutError"],
    ["undici's aborted request", new errors.RequestAbortedError(), "request", "timeout", "UND_ERR_ABORTED"],
    ["undici's aborted body", new errors.RequestAbortedError(), "body", "timeout", "UND_ERR_ABORTED"],
    ["a body silent past the dispatcher's bodyTimeout", new errors.BodyTimeoutError(), "body", "timeout", "UND_ERR_BODY_TIMEOUT"],
    [
      "the dispatcher's headers timeout (its own limit, not the deadline)",
      new errors.HeadersTimeoutError(),
      "request",
      "connection",
      "UND_ERR_HEADERS_TIMEOUT",
    ],
    ["the dispatcher's connect timeout", new errors.ConnectTimeoutError(), "request", "connection", "UND_ERR_CONNECT_TIMEOUT"],
    ["a refused connection", systemError("ECONNREFUSED"), "request", "connection", "ECONNREFUSED"],
    ["a reset connection", systemError("ECONNRESET"), "request", "connection", "ECONNRESET"],
    ["an unknown host", systemError("ENOTFOUND"), "request", "connection", "ENOTFOUND"],
    ["a socket closed before the status line", new errors.SocketError("other side closed"), "request", "connection", "UND_ERR_SOCKET"],
    ["a self-signed certificate", systemError("DEPTH_ZERO_SELF_SIGNED_CERT"), "request", "tls", "DEPTH_ZERO_SELF_SIGNED_CERT"],
    ["an untrusted chain", systemError("SELF_SIGNED_CERT_IN_CHAIN"), "request", "tls", "SELF_SIGNED_CERT_IN_CHAIN"],
    ["an unverifiable leaf", systemError("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), "request", "tls", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
    ["an expired certificate", systemError("CERT_HAS_EXPIRED"), "request", "tls", "CERT_HAS_EXPIRED"],
    ["a certificate for another name", systemError("ERR_TLS_CERT_ALTNAME_INVALID"), "request", "tls", "ERR_TLS_CERT_ALTNAME_INVALID"],
    ["TLS spoken to a plain HTTP port", systemError("ERR_SSL_WRONG_VERSION_NUMBER"), "request", "tls", "ERR_SSL_WRONG_VERSION_NUMBER"],
    ["a socket closed half-way through the body", new errors.SocketError("other side closed"), "body", "cut-off", "UND_ERR_SOCKET"],
    ["a reset half-way through the body", systemError("ECONNRESET"), "body", "cut-off", "ECONNRESET"],
    ["an error without a code", new TypeError("fetch failed for https://user:secret@feed.example/x"), "request", "connection", "TypeError"],
    ["something thrown that is not an error", "boom", "request", "connection", "string"],
  ])("%s", (_name, thrown, phase, kind, detail) => {
    const failure = classifyHttpError(thrown, phase);
    expect(failure).toEqual({ kind, phase, detail, cause: thrown });
  });

  it("never takes the detail from an error's text, which can carry the URL and its credentials", () => {
    for (const thrown of [systemError("ECONNREFUSED"), new TypeError("https://user:secret@feed.example/x")]) {
      expect(classifyHttpError(thrown, "request").detail).not.toContain("secret");
    }
  });
});
