import type { Logger } from "pino";
import type { Resolution } from "./desired.js";

/** The desired set as resolved, and every address the resolvers disagreed on, in the log. */
export function logDesired({ desired, sources }: Extract<Resolution, { ok: true }>, log: Logger): void {
  log.info({ desired: desired.entries.length, digest: desired.digest, excluded: desired.excluded.length }, "desired set resolved");
  for (const source of sources) {
    for (const d of source.disagreements ?? []) {
      log.warn(
        { source: source.name, address: d.address, hostname: d.hostname, returnedBy: d.returnedBy, missingFrom: d.missingFrom, counted: d.counted },
        `resolvers disagree on ${d.address} (${d.hostname}): ${d.counted ? "kept" : "dropped, below the quorum"}`,
      );
    }
  }
}
