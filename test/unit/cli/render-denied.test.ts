import { describe, expect, it } from "vitest";
import { renderExplainText } from "../../../src/cli/render/explain.js";
import { deniedLines } from "../../../src/cli/render/status-denied.js";
import type { ExplainInstance, ExplainReport } from "../../../src/reconcile/explain.js";
import { instanceDrift } from "../../support/results.js";

const TABLE = { table: "st_denied", window: "1d" };

describe("status: each instance's denied clients", () => {
  it("counts the clients and the published ones, and says when the counts are a sample", () => {
    expect(deniedLines(instanceDrift({ denied: { clients: 1, published: 0, truncated: false }, deniedError: null }), TABLE)).toEqual([
      "  denied: 1 client in the last 1d (st_denied), 0 of them published and still denied",
    ]);
    expect(deniedLines(instanceDrift({ denied: { clients: 102400, published: 3, truncated: true }, deniedError: null }), TABLE)).toEqual([
      "  denied: 102400 clients in the last 1d (st_denied), 3 of them published and still denied; a recent sample (the table is full or past the clients kept per run): see travis-allowlist denials",
    ]);
  });

  it("names the table and the error when it was not read, and prints nothing without haproxy.denials", () => {
    const unread = instanceDrift({ denied: null, deniedError: { code: "E_HAPROXY_TABLE_TYPE", message: "stick table st_denied is type ip" } });
    expect(deniedLines(unread, TABLE)).toEqual(["  denied clients: table st_denied not read (E_HAPROXY_TABLE_TYPE: stick table st_denied is type ip)"]);
    expect(deniedLines(instanceDrift(), undefined)).toEqual([]);
  });
});

describe("explain: an address's denials on each instance", () => {
  const instance = (overrides: Partial<ExplainInstance>): ExplainInstance => ({
    target: "unix:///run/haproxy/admin.sock",
    admitted: false,
    entry: null,
    value: null,
    owner: null,
    pendingRemoval: null,
    unexpected: false,
    history: [],
    error: null,
    ...overrides,
  });
  const report = (instances: ExplainInstance[]): ExplainReport => ({
    version: 1,
    addresses: [{ address: "127.0.0.50", desired: false, excludedBy: null, provenance: [], instances }],
    sources: [],
    error: null,
    outcome: "agree",
  });

  it("shows the requests and the last one under the instance that turned it away", () => {
    const text = renderExplainText(report([instance({ denied: { requests: 1, lastSeen: "2026-11-29T03:34:27.314Z" }, deniedError: null })]));
    expect(text).toBe(
      "127.0.0.50\n  desired: no (no source publishes it)\n  unix:///run/haproxy/admin.sock: DENIED (no entry matches)\n    turned away: 1 request, the last at 2026-11-29T03:34:27.314Z\n",
    );
  });

  it("says when the table was not read, but not twice for an instance that was not asked at all", () => {
    const error = { code: "E_HAPROXY_TABLE_UNKNOWN" as const, message: "no stick table st_denied" };
    expect(renderExplainText(report([instance({ denied: null, deniedError: error })]))).toContain(
      "\n    denied clients not read (E_HAPROXY_TABLE_UNKNOWN: no stick table st_denied)\n",
    );
    const notAsked = renderExplainText(
      report([instance({ admitted: null, error: "connect ENOENT", denied: null, deniedError: { ...error, code: "E_HAPROXY_CONNECT" } })]),
    );
    expect(notAsked).toContain("not asked (connect ENOENT)");
    expect(notAsked).not.toContain("denied clients not read");
  });
});
