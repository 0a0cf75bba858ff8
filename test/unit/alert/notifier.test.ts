import { describe, expect, it } from "vitest";
import { sinkLabels } from "../../../src/alert/notifier.js";

const slack = (url: string) => ({ type: "slack" as const, url, timeoutMs: 1000 });
const webhook = (url: string) => ({ type: "webhook" as const, url, timeoutMs: 1000 });

describe("sinkLabels", () => {
  it.each([
    [
      "different hosts keep their own names",
      [slack("https://hooks.slack.com/services/T0/B0/x"), webhook("https://hooks.example/allowlist")],
      ["slack https://hooks.slack.com/services/***", "webhook https://hooks.example/allowlist"],
    ],
    [
      "two Slack webhooks that redact alike are told apart, without their secrets",
      [
        slack("https://hooks.slack.com/services/T0/B0/secret1"),
        slack("https://hooks.slack.com/services/T0/B1/secret2"),
        slack("https://hooks.slack.com/services/T1/B2/secret3"),
      ],
      ["slack https://hooks.slack.com/services/***", "slack https://hooks.slack.com/services/*** #2", "slack https://hooks.slack.com/services/*** #3"],
    ],
  ])("%s", (_name, sinks, labels) => {
    expect(sinkLabels(sinks)).toEqual(labels);
    expect(new Set(sinkLabels(sinks)).size).toBe(sinks.length);
    for (const label of sinkLabels(sinks)) expect(label).not.toMatch(/secret|T0|B0/);
  });
});
