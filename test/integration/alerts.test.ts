import { afterEach, describe, expect, it } from "vitest";
import { alertEvents } from "../../src/alert/events.js";
import type { AlertEvent } from "../../src/alert/events.js";
import { planAlerts } from "../../src/alert/lifecycle.js";
import { emptyAlertState } from "../../src/model/alerts.js";
import { createNotifier, type NotifyPlan } from "../../src/alert/notifier.js";
import { freePort } from "../support/ports.js";
import { type HttpReceiver, type Reply, startReceiver } from "../support/http-receiver.js";
import { instanceResult, runResult } from "../support/results.js";
import { Scrubber } from "../../src/util/secrets.js";

const NOW = new Date("2026-11-26T18:00:00.000Z");
const receivers: HttpReceiver[] = [];

async function receiver(replies: Reply[] = [200]): Promise<HttpReceiver> {
  const r = await startReceiver(replies);
  receivers.push(r);
  return r;
}

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

const held = alertEvents(
  runResult({
    outcome: "held",
    held: { guard: "maxRemovals", message: "maxRemovals: would remove 23 of 39 owned entries", trips: [] },
    instances: [instanceResult({ status: "held" })],
  }),
  ["held"],
  NOW,
);

const fast = { backoffMs: 10, now: () => NOW, scrubber: new Scrubber() };

/** What a first run with these events tells the sinks. */
function plan(events: AlertEvent[]): NotifyPlan {
  return { ...planAlerts(emptyAlertState(), events, { now: NOW, repeatIntervalMs: 4 * 3_600_000, judged: true, runId: "run-1" }), horizonMs: 1_800_000 };
}

describe("alert sinks against real HTTP receivers", () => {
  it("slack gets one incoming-webhook message per event", async () => {
    const r = await receiver();
    const deliveries = await createNotifier([{ type: "slack", url: `${r.url}/services/T0/B0/secret`, timeoutMs: 2000 }], fast).notify(plan(held));
    expect(deliveries).toEqual([{ sink: `slack ${r.url}/services/***`, event: "held", phase: "firing", ok: true, error: null }]);
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]).toMatchObject({ method: "POST", path: "/services/T0/B0/secret", headers: { "content-type": "application/json" } });
    expect(r.requests[0]?.json).toMatchObject({ text: expect.stringContaining("maxRemovals"), blocks: expect.any(Array) });
  });

  it("alertmanager gets POST /api/v2/alerts with an array of alerts", async () => {
    const r = await receiver();
    await createNotifier([{ type: "alertmanager", url: `${r.url}/`, timeoutMs: 2000 }], fast).notify(plan(held));
    expect(r.requests[0]?.path).toBe("/api/v2/alerts");
    const alerts = r.requests[0]?.json as Array<{ labels: Record<string, string>; startsAt: string }>;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.labels).toMatchObject({ alertname: "TravisAllowlistHeld", severity: "warning", instance: "unix:///run/haproxy/admin.sock" });
    expect(alerts[0]?.startsAt).toBe(NOW.toISOString());
  });

  it("an alertmanager delivery names each event it carried once, as a list", async () => {
    const r = await receiver();
    const failing = (target: string) => instanceResult({ target, status: "failed", error: "connection refused", errorCode: "E_HAPROXY_CONNECT" });
    const failed = alertEvents(runResult({ outcome: "failed", instances: [failing("tcp://127.0.0.1:1"), failing("tcp://127.0.0.1:2")] }), ["failed"], NOW);
    const deliveries = await createNotifier([{ type: "alertmanager", url: r.url, timeoutMs: 2000 }], fast).notify(plan([...held, ...failed]));
    const alerts = r.requests[0]?.json as Array<{ labels: Record<string, string> }>;
    expect(alerts.map((a) => a.labels.event)).toEqual(["held", "failed", "failed"]);
    expect(deliveries).toEqual([{ sink: `alertmanager ${r.url}`, events: ["held", "failed"], phase: "firing", ok: true, error: null }]);
  });

  it("webhook gets the documented body with its custom headers", async () => {
    const r = await receiver();
    await createNotifier([{ type: "webhook", url: `${r.url}/allowlist`, headers: { Authorization: "Bearer tok" }, timeoutMs: 2000 }], fast).notify(plan(held));
    expect(r.requests[0]?.headers.authorization).toBe("Bearer tok");
    expect(r.requests[0]?.json).toMatchObject({ version: 1, source: "travis-allowlist", event: "held", guard: "maxRemovals", runId: "run-1" });
  });

  it("retries a 5xx with backoff until it is delivered", async () => {
    const r = await receiver([500, 503, 200]);
    const deliveries = await createNotifier([{ type: "webhook", url: r.url, timeoutMs: 2000 }], fast).notify(plan(held));
    expect(deliveries[0]?.ok).toBe(true);
    expect(r.requests).toHaveLength(3);
  });

  it("gives up after two retries and reports the last error", async () => {
    const r = await receiver([500]);
    const deliveries = await createNotifier([{ type: "webhook", url: `${r.url}/hook?token=secret`, timeoutMs: 2000 }], fast).notify(plan(held));
    expect(r.requests).toHaveLength(3);
    expect(deliveries[0]).toMatchObject({ ok: false, errorCode: "E_ALERT_HTTP", error: expect.stringContaining("HTTP 500") });
    expect(deliveries[0]?.error).not.toContain("secret");
  });

  it("never retries a 4xx", async () => {
    const r = await receiver([404]);
    const deliveries = await createNotifier([{ type: "slack", url: r.url, timeoutMs: 2000 }], fast).notify(plan(held));
    expect(r.requests).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ ok: false, errorCode: "E_ALERT_HTTP", error: expect.stringContaining("HTTP 404") });
  });

  it("times out a receiver that never answers", async () => {
    const r = await receiver(["hang"]);
    const started = Date.now();
    const deliveries = await createNotifier([{ type: "webhook", url: r.url, timeoutMs: 200 }], { ...fast, retries: 1 }).notify(plan(held));
    expect(deliveries[0]).toMatchObject({ ok: false, errorCode: "E_ALERT_TIMEOUT", error: expect.stringContaining("no answer within 200 ms") });
    expect(r.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("retries network errors and names the sink without its secret", async () => {
    const port = await freePort();
    const deliveries = await createNotifier([{ type: "slack", url: `http://127.0.0.1:${port}/services/T0/B0/secret`, timeoutMs: 500 }], fast).notify(
      plan(held),
    );
    expect(deliveries[0]).toMatchObject({
      ok: false,
      sink: `slack http://127.0.0.1:${port}/services/***`,
      errorCode: "E_ALERT_NETWORK",
      error: expect.stringContaining("ECONNREFUSED"),
    });
    expect(deliveries[0]?.error).not.toContain("secret");
  });

  it("one failing sink does not stop the others", async () => {
    const [bad, good] = [await receiver([400]), await receiver([200])];
    const deliveries = await createNotifier(
      [
        { type: "webhook", url: bad.url, timeoutMs: 2000 },
        { type: "webhook", url: good.url, timeoutMs: 2000 },
      ],
      fast,
    ).notify(plan(held));
    expect(deliveries.map((d) => d.ok)).toEqual([false, true]);
    expect(good.requests).toHaveLength(1);
  });

  it("a sink's error reply is scrubbed whole before it is cut: a secret across the cut leaves no prefix behind", async () => {
    const secret = "sinkecho-secret-5b1e9c";
    // The secret starts 195 characters in: a cut at 200 made first would keep "sinke", which scrubbing no longer finds.
    const r = await startReceiver([200], (_req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`\u001b[31m${"x".repeat(190)}${secret} and more`);
    });
    receivers.push(r);
    const deliveries = await createNotifier([{ type: "webhook", url: r.url, timeoutMs: 2000 }], {
      ...fast,
      retries: 0,
      scrubber: new Scrubber([secret]),
    }).notify(plan(held));
    expect(deliveries[0]).toMatchObject({ ok: false, error: expect.stringContaining("HTTP 500: \\x1b[31mxxx") });
    expect(deliveries[0]?.error).toMatch(/x{190}\*\*\* a$/);
    expect(deliveries[0]?.error).not.toContain(secret.slice(0, 4));
  });

  it("each sink type sends its URL's credentials as Basic auth; a configured Authorization header wins", async () => {
    const r = await receiver();
    const base = `http://hook%20user:s3cret%2Fpw@${r.url.slice("http://".length)}`;
    const deliveries = await createNotifier(
      [
        { type: "slack", url: `${base}/slack`, timeoutMs: 2000 },
        { type: "alertmanager", url: `${base}/am`, timeoutMs: 2000 },
        { type: "webhook", url: `${base}/hook`, timeoutMs: 2000 },
        { type: "webhook", url: `${base}/own`, headers: { Authorization: "Bearer own" }, timeoutMs: 2000 },
      ],
      fast,
    ).notify(plan(held));
    expect(deliveries.map((d) => d.ok)).toEqual([true, true, true, true]);
    const basic = `Basic ${Buffer.from("hook user:s3cret/pw").toString("base64")}`;
    const byPath = Object.fromEntries(r.requests.map((q) => [q.path, q.headers.authorization]));
    expect(byPath).toEqual({ "/slack": basic, "/am/api/v2/alerts": basic, "/hook": basic, "/own": "Bearer own" });
    expect(deliveries.map((d) => d.sink).join(" ")).not.toContain("s3cret");
  });
});

describe("Slack's limits", () => {
  it("30 failing instances with long errors arrive as one message within every limit, escaped, with (+N more)", async () => {
    const instances = Array.from({ length: 30 }, (_, i) =>
      instanceResult({
        target: `tls://10.0.${i}.5:9999`,
        status: "failed",
        error: `TLS handshake failed: the server's certificate is not signed by haproxy.tls.ca <UNABLE_TO_VERIFY> & more ${"x".repeat(120)}`,
        errorCode: "E_HAPROXY_TLS",
        add: Array.from({ length: 400 }, (_, j) => `34.${i}.${j >> 8}.${j & 255}/32`),
      }),
    );
    const events = alertEvents(runResult({ outcome: "failed", instances }), ["failed"], NOW);
    const r = await receiver([200]);
    const deliveries = await createNotifier([{ type: "slack", url: r.url, timeoutMs: 2000 }], fast).notify(plan(events));
    expect(deliveries.map((d) => d.ok)).toEqual([true]);
    const body = r.requests[0]?.json as {
      text: string;
      blocks: Array<{ type: string; text?: { text: string }; fields?: Array<{ text: string }>; elements?: Array<{ text: string }> }>;
    };
    expect(body.text.length).toBeLessThanOrEqual(40_000);
    expect(body.blocks.length).toBeLessThanOrEqual(50);
    const [header, summary, fields, context] = body.blocks;
    expect(header?.text?.text.length).toBeLessThanOrEqual(150);
    expect(summary?.text?.text.length).toBeLessThanOrEqual(3000);
    for (const field of fields?.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(2000);
    expect(context?.elements?.[0]?.text.length).toBeLessThanOrEqual(3000);
    expect(fields?.fields?.[2]?.text).toMatch(/… \(\+\d+ more\)$/);
    // Remote text cannot form Slack links, mentions or entities.
    expect(JSON.stringify(body)).not.toMatch(/<UNABLE|> &/);
    expect(summary?.text?.text).toContain("&lt;UNABLE_TO_VERIFY&gt; &amp; more");
  });
});
