import type { StaticSourceConfig } from "../config/schema.js";
import type { Source, SourceResult } from "./types.js";

export function staticSource(config: StaticSourceConfig): Source {
  return {
    name: config.name,
    type: "static",
    fetch(): Promise<SourceResult> {
      const provenance = { source: config.name };
      return Promise.resolve({
        name: config.name,
        type: "static",
        entries: config.entries.map((value) => ({ value, provenance })),
        durationMs: 0,
      });
    },
  };
}
