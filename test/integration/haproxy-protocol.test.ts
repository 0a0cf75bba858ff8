import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HaproxyError } from "../../src/errors.js";
import { HaproxyInstance } from "../../src/haproxy/runtime.js";
import { RuntimeSession } from "../../src/haproxy/session.js";
import { startFakeRuntime } from "../support/fake-runtime.js";
import { tempDir } from "../support/tmp.js";

const OPTIONS = { timeoutMs: 3000 };
let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  dir = await tempDir("ta-protocol-");
});
afterAll(async () => {
  await dir.remove();
});

describe("a reply the parsers do not understand is an E_HAPROXY_PROTOCOL HaproxyError naming the instance", () => {
  it.each([
    ["show info", "connect", "show info gave no Version line", "unknown"],
    ["show map", "readList", "unexpected line in list output", "unknown"],
    ["show map /", "readList", "unexpected line in map entries", "unknown"],
    ["get map", "match", "unexpected reply to get map 1.2.3.4", "unknown"],
    // Nothing is committed before the version is known: the live list is untouched.
    ["prepare map", "replace", "prepare gave no version", "unchanged"],
  ] as const)("garbled reply to %s (%s)", async (command, step, text, liveState) => {
    const fake = await startFakeRuntime(dir.path, ["127.0.0.5 office"], { garble: command });
    let instance: HaproxyInstance | undefined;
    try {
      const attempt = async () => {
        instance = await HaproxyInstance.connect(fake.target, OPTIONS);
        if (step === "readList") await instance.readList("map", fake.file);
        if (step === "match") await instance.match("map", fake.file, ["1.2.3.4"]);
        if (step === "replace") await instance.replace("map", fake.file, [{ key: "127.0.0.6/32", value: "travis" }]);
      };
      const error = await attempt().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(HaproxyError);
      expect(error).toMatchObject({ code: "E_HAPROXY_PROTOCOL", target: fake.target, liveState, message: expect.stringContaining(text) });
      expect((error as HaproxyError).message.startsWith(`${fake.target}: `)).toBe(true);
    } finally {
      await instance?.close();
      await fake.stop();
    }
  });
});

describe("a peer that drops the connection while a large payload is being written", () => {
  it("is E_HAPROXY_CLOSED, the way HAProxy drops a payload past tune.bufsize, not an I/O error", async () => {
    const path = join(dir.path, "dropping.sock");
    // Answers the two commands that open a session, then drops the connection on the next bytes, unread.
    const server = createServer((socket) => {
      let answered = 0;
      socket.on("data", () => {
        if (answered++ < 2) socket.write("\n> ");
        else socket.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const session = await RuntimeSession.open(`unix://${path}`, OPTIONS);
    try {
      // Megabytes the peer never reads: the kernel answers the writes with a reset or a broken pipe.
      const error = await session.send(`add map @1 /m.map <<\n${"34.0.0.0/24 travis\n".repeat(200_000)}`).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(HaproxyError);
      expect(error).toMatchObject({ code: "E_HAPROXY_CLOSED", message: expect.stringContaining("connection closed by HAProxy") });
    } finally {
      await session.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
