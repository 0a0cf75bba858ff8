import { readFile } from "node:fs/promises";
import { request } from "undici";
import { redactUrl } from "../config/redact.js";
import { AllowlistError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import { readStart } from "../util/body.js";
import { printable } from "../util/printable.js";
import { withBasicAuth } from "../util/url.js";
import { scrubbedStart } from "../util/secrets.js";
import { METRIC } from "./metrics.js";

export const PUSH_JOB = "travis_allowlist";

/** Only the start of a gateway's reply is shown; one that floods its answer is not read further. */
const REPLY_LIMIT = 4096;

/**
 * Push-add (POST) to a Pushgateway: only the metrics in this push replace
 * theirs, so a failed run leaves the last-success gauge of an earlier one.
 */
export async function pushMetrics(baseUrl: string, text: string, timeoutMs = 5000): Promise<void> {
  // Credentials in the URL go as Basic auth (undici would drop them).
  const { url, authorization } = withBasicAuth(`${baseUrl.replace(/\/+$/, "")}/metrics/job/${PUSH_JOB}`);
  try {
    const response = await request(url, {
      method: "POST",
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", ...(authorization === undefined ? {} : { authorization }) },
      body: text,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const answer = (await readStart(response.body, REPLY_LIMIT)).toString("utf8");
    if (response.statusCode >= 300) {
      const shown = printable(scrubbedStart(answer, 200));
      throw new AllowlistError("E_METRICS_PUSH", `Pushgateway ${redactUrl(baseUrl)} answered HTTP ${response.statusCode}: ${shown}`);
    }
  } catch (err) {
    if (err instanceof AllowlistError) throw err;
    const name = (err as Error).name;
    const why =
      name === "TimeoutError" || name === "AbortError"
        ? `no complete answer within ${timeoutMs} ms`
        : `network error (${(err as NodeJS.ErrnoException).code ?? name})`;
    throw new AllowlistError("E_METRICS_PUSH", `Pushgateway ${redactUrl(baseUrl)}: ${why}`, { cause: err });
  }
}

/** The last-success sample of an earlier textfile, so a failed run does not erase it. */
async function previousSuccess(path: string): Promise<string | undefined> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.split("\n").find((line) => line.startsWith(`${METRIC.lastSuccess} `));
}

/** Writes the node_exporter textfile atomically, carrying an earlier last-success forward. */
export async function writeTextfile(path: string, text: string): Promise<void> {
  let content = text;
  if (!text.split("\n").some((line) => line.startsWith(`${METRIC.lastSuccess} `))) {
    const earlier = await previousSuccess(path);
    if (earlier)
      content = `${text.trimEnd()}\n# HELP ${METRIC.lastSuccess} Unix time of the last successful run.\n# TYPE ${METRIC.lastSuccess} gauge\n${earlier}\n`;
  }
  // node_exporter runs as another user: the file is 0644, and directories created for it 0755 so it can reach it.
  await writeFileAtomic(path, content, { mode: 0o644, dirMode: 0o755 });
}
