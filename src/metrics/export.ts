import { readFile } from "node:fs/promises";
import { request } from "undici";
import { redactUrl } from "../util/url.js";
import { AllowlistError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import { readStart } from "../util/body.js";
import { printable } from "../util/printable.js";
import { withBasicAuth } from "../util/url.js";
import { scrubbedStart } from "../util/secrets.js";

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

/** Metric families of an exposition text, by name: their `# HELP`/`# TYPE` lines and samples, in order. */
function families(text: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const name = line.startsWith("#") ? line.split(" ")[2] : /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) continue;
    found.set(name, [...(found.get(name) ?? []), line]);
  }
  return found;
}

/**
 * Writes the node_exporter textfile atomically. A family this run did not
 * export (the last success after a failed run; the desired count and
 * instance state after a run whose sources failed) keeps its earlier samples,
 * as a Pushgateway push-add would.
 */
export async function writeTextfile(path: string, text: string): Promise<void> {
  const earlier = families(await readFile(path, "utf8").catch(() => ""));
  const now = families(text);
  const carried = [...earlier].filter(([name]) => !now.has(name)).flatMap(([, lines]) => lines);
  const content = carried.length > 0 ? `${text.trimEnd()}\n${carried.join("\n")}\n` : text;
  // node_exporter runs as another user: the file is 0644, and directories created for it 0755 so it can reach it.
  await writeFileAtomic(path, content, { mode: 0o644, dirMode: 0o755 });
}
