import { readFile } from "node:fs/promises";
import type { Dispatcher } from "undici";
import { AllowlistError } from "../errors.js";
import { send } from "../http/client.js";
import type { HttpFailure } from "../http/failure.js";
import { writeFileAtomic } from "../util/atomic.js";
import { printable } from "../util/printable.js";
import type { Scrubber } from "../util/secrets.js";
import { redactUrl } from "../util/url.js";

export const PUSH_JOB = "travis_allowlist";

/** Only the start of a gateway's reply is shown; one that floods its answer is not read further. */
const REPLY_LIMIT = 4096;

export interface PushOptions {
  /** undici's global dispatcher by default. */
  dispatcher?: Dispatcher;
  /** Takes the config's secrets out of the reply text an error quotes. */
  scrubber: Scrubber;
}

function pushFailure(baseUrl: string, timeoutMs: number): (failure: HttpFailure) => AllowlistError {
  return ({ kind, detail, cause }) => {
    const why = kind === "timeout" ? `no complete answer within ${timeoutMs} ms` : `network error (${detail})`;
    return new AllowlistError("E_METRICS_PUSH", `Pushgateway ${redactUrl(baseUrl)}: ${why}`, { cause });
  };
}

/**
 * Push-add (POST) to a Pushgateway: only the metrics in this push replace
 * theirs, so a failed run leaves the last-success gauge of an earlier one.
 * Credentials in the URL are sent in a Basic Authorization header.
 */
export async function pushMetrics(baseUrl: string, text: string, timeoutMs: number, options: PushOptions): Promise<void> {
  const response = await send({
    method: "POST",
    url: `${baseUrl.replace(/\/+$/, "")}/metrics/job/${PUSH_JOB}`,
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    body: text,
    timeoutMs,
    dispatcher: options.dispatcher,
    fail: pushFailure(baseUrl, timeoutMs),
  });
  const answer = (await response.readStart(REPLY_LIMIT)).toString("utf8");
  if (response.status >= 300) {
    const shown = printable(options.scrubber.start(answer, 200));
    throw new AllowlistError("E_METRICS_PUSH", `Pushgateway ${redactUrl(baseUrl)} answered HTTP ${response.status}: ${shown}`);
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
