import { describe, expect, it } from "vitest";
import { literalSecrets } from "../../../src/config/redact.js";
import { parseConfig } from "../../../src/config/parse.js";

describe("literalSecrets: what the config holds literally that redaction hides", () => {
  const parsed = parseConfig(
    JSON.stringify({
      sources: [
        { name: "feed", type: "http", url: "https://feeduser:Pw-literal-9f2@feed.example/v1/T0k3nPath9?key=plainkeyvalue&format=json", format: "lines" },
        { name: "dns", type: "dns", names: ["nat.travisci.net"], resolvers: ["https://doh.example/dns-query/D0h7tok"] },
      ],
      haproxy: { sockets: ["unix:///run/haproxy/admin.sock"], map: "/etc/haproxy/travis.map" },
      alerts: {
        sinks: [
          {
            type: "webhook",
            url: "https://hooks.example/services/H00k9tok",
            headers: { "X-Api-Key": "literalheadertokenZZZ", Authorization: "Bearer bearerliteral", "Content-Type": "application/json" },
          },
        ],
      },
      metrics: { pushgateway: "https://pg.example/P9gwtok" },
    }),
    {},
  );

  it("header values (and the credentials after a scheme), token-like URL parts, never plain words", () => {
    expect(parsed.config).toBeDefined();
    const found = literalSecrets(parsed.config!);
    expect(found).toEqual(
      expect.arrayContaining([
        "literalheadertokenZZZ",
        "bearerliteral",
        "Pw-literal-9f2",
        Buffer.from("feeduser:Pw-literal-9f2").toString("base64"),
        "T0k3nPath9",
        "plainkeyvalue",
        "D0h7tok",
        "H00k9tok",
        "P9gwtok",
      ]),
    );
    for (const plain of ["application/json", "json", "services", "dns-query", "v1", "feeduser", "Bearer", "Bearer bearerliteral"])
      expect(found).not.toContain(plain);
  });
});
