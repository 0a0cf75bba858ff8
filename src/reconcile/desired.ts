import type { Config } from "../config/schema.js";
import { AllowlistError, errorCode } from "../errors.js";
import { digestOfUnordered } from "../model/entries.js";
import type { SourceStatus } from "../model/result.js";
import { buildDesiredSet } from "../sources/desired.js";
import type { DesiredSet } from "../model/desired.js";
import type { Source } from "../sources/types.js";
import { message } from "./results.js";

export type Resolution =
  | { ok: true; desired: DesiredSet; sources: SourceStatus[] }
  /** `desired` is present when every source answered but some values were refused. */
  | { ok: false; error: AllowlistError; sources: SourceStatus[]; desired?: DesiredSet };

/** Fetches every source and builds the desired set; any failure means nothing may change. */
export async function resolveDesired(config: Config, sources: Source[], now: () => Date): Promise<Resolution> {
  const outcomes = await Promise.all(
    sources.map(async (source) => {
      const started = now().getTime();
      try {
        return { source, result: await source.fetch(), error: undefined, durationMs: now().getTime() - started };
      } catch (error) {
        return { source, result: undefined, error, durationMs: now().getTime() - started };
      }
    }),
  );
  const statuses: SourceStatus[] = outcomes.map(({ source, result, error, durationMs }) =>
    result
      ? {
          name: source.name,
          type: source.type,
          status: "ok",
          count: result.published.reduce((sum, group) => sum + group.values.length, 0),
          digest: digestOfUnordered(result.published.flatMap((group) => group.values)),
          durationMs,
          ...(result.disagreements ? { disagreements: result.disagreements } : {}),
        }
      : { name: source.name, type: source.type, status: "failed", count: 0, durationMs, error: message(error), errorCode: errorCode(error) },
  );
  const failed = outcomes.filter((o) => o.error !== undefined);
  if (failed.length > 0) {
    const text = failed.map((f) => message(f.error)).join("; ");
    return { ok: false, sources: statuses, error: new AllowlistError(errorCode(failed[0]?.error), `source failed, nothing changed: ${text}`) };
  }
  // No source failed, so every one has a result.
  const desired = await buildDesiredSet(
    outcomes.flatMap((o) => (o.result ? [o.result] : [])),
    { exclude: config.exclude, ...config.guards },
  );
  if (desired.rejected.length > 0) {
    const shown = desired.rejected.slice(0, 10).map((r) => `source ${r.source}: ${JSON.stringify(r.value)}: ${r.reason}`);
    const more = desired.rejected.length > 10 ? `; … (+${desired.rejected.length - 10} more)` : "";
    return {
      ok: false,
      sources: statuses,
      desired,
      error: new AllowlistError("E_DESIRED_REJECTED", `rejected ${desired.rejected.length} value(s), nothing changed: ${shown.join("; ")}${more}`),
    };
  }
  if (desired.entries.length === 0) {
    return {
      ok: false,
      sources: statuses,
      error: new AllowlistError("E_DESIRED_EMPTY", "the desired set is empty, nothing changed (an empty answer never removes anything)"),
    };
  }
  return { ok: true, desired, sources: statuses };
}
