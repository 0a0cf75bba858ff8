import { describe, expect, it } from "vitest";
import { ReplyFramer, TextReader } from "../../../src/haproxy/reply-stream.js";
import { adminSocketLine, refusal } from "../../../src/haproxy/refusal.js";
import { Scrubber } from "../../../src/util/secrets.js";

/** One reply as the interactive CLI sends it: the message, its own newline, then the prompt. */
function framed(bytes: string) {
  const reader = new TextReader(1024);
  for (const part of new ReplyFramer().push(Buffer.from(bytes))) reader.push(part.bytes);
  return reader.finish();
}

describe("refusal", () => {
  it("reads HAProxy's Permission denied (the bytes 2.6 and 3.4 send) as E_HAPROXY_PERMISSION with the line to write, without a blank line", () => {
    const reply = framed("[3]: Permission denied\n\n> ");
    expect(reply).toEqual({ severity: 3, text: "Permission denied", isError: true });
    const error = refusal("unix:///run/haproxy/admin.sock", "3.4.0", "show map", reply, "E_HAPROXY_COMMAND");
    expect(error.code).toBe("E_HAPROXY_PERMISSION");
    expect(error.message).toBe(
      'unix:///run/haproxy/admin.sock: show map was refused: Permission denied. HAProxy 3.4.0 allows map and ACL commands only on a stats socket with "level admin" ' +
        '(3.x refuses even show and get at "level operator"): in haproxy.cfg write "stats socket /run/haproxy/admin.sock mode 660 level admin" and reload HAProxy',
    );
  });

  it("keeps the caller's code and what the refusal left behind for any other refusal", () => {
    const error = refusal("tcp://127.0.0.1:9999", "2.6.12", "add map @3", framed("[3]: 'add map' failed\n\n> "), "E_HAPROXY_ADD", "; not committed");
    expect(error).toMatchObject({ code: "E_HAPROXY_ADD", message: "tcp://127.0.0.1:9999: add map @3 failed: 'add map' failed; not committed" });
  });

  it("quotes the peer's reply scrubbed of secrets and cut to 200 characters", () => {
    const scrubber = new Scrubber();
    scrubber.add(["s3cret-token-value"]);
    const reply = framed(`[3]: unknown map 's3cret-token-value' ${"x".repeat(500)}\n\n> `);
    const error = refusal("tcp://127.0.0.1:9999", "2.6.12", "show map", reply, "E_HAPROXY_COMMAND", "", scrubber);
    expect(error.message).not.toContain("s3cret-token-value");
    expect(error.message).toBe(`tcp://127.0.0.1:9999: show map failed: ${scrubber.start(reply.text, 200)}`);
    expect(scrubber.start(reply.text, 200)).toHaveLength(200);
  });

  it.each([
    ["unix:///run/haproxy/admin.sock", "stats socket /run/haproxy/admin.sock mode 660 level admin"],
    ["tcp://127.0.0.1:9999", "stats socket ipv4@127.0.0.1:9999 level admin"],
    ["tcp://[::1]:9999", "stats socket ipv6@::1:9999 level admin"],
    ["tls://10.0.0.5:9999", "stats socket <the path its TLS listener forwards to> mode 660 level admin"],
  ])("the stats socket line for %s", (target, line) => {
    expect(adminSocketLine(target)).toBe(line);
  });
});
