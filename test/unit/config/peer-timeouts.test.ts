import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/parse.js";
import { peerTimeoutWarnings } from "../../../src/config/peer-timeouts.js";

function configOf(extra: string) {
  const text = [
    "sources:",
    "  - {name: travis, type: dns, names: [nat.travisci.net], resolvers: ['127.0.0.1:5353'], timeoutMs: 12000}",
    "  - {name: pinned, type: static, entries: [34.66.25.221]}",
    "haproxy: {sockets: ['unix:///run/haproxy/admin.sock'], map: /etc/haproxy/maps/travis.map, timeoutMs: 300000}",
    extra,
  ].join("\n");
  const { config, issues } = parseConfig(text, {});
  expect(issues).toEqual([]);
  return config!;
}

describe("peerTimeoutWarnings", () => {
  it("names each peer timeout over half of runTimeout, with its key and what to set it to", () => {
    const warnings = peerTimeoutWarnings(configOf("runTimeout: 20s\nalerts: {sinks: [{type: webhook, url: 'https://hooks.example/x', timeoutMs: 15000}]}"));
    expect(warnings).toEqual([
      expect.stringMatching(
        /^haproxy\.timeoutMs \(300000 ms\) is more than half of runTimeout \(20s\).*set haproxy\.timeoutMs to at most 10000 or raise runTimeout$/,
      ),
      expect.stringMatching(/^sources\[0\]\.timeoutMs \(12000 ms\)/),
      expect.stringMatching(/^alerts\.sinks\[0\]\.timeoutMs \(15000 ms\)/),
    ]);
  });

  it("says nothing when every peer timeout is well below runTimeout", () => {
    expect(peerTimeoutWarnings(configOf("runTimeout: 10m"))).toEqual([]);
  });
});
