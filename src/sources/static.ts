import type { StaticSourceConfig } from "../config/schema.js";
import type { Source, SourceResult } from "./types.js";

export function staticSource(config: StaticSourceConfig): Source {
  return {
    name: config.name,
    type: "static",
    async fetch(): Promise<SourceResult> {
      return {
        name: config.name,
        type: "static",
        entries: config.entries.map((value) => ({ value, provenance: { source: config.name } })),
        durationMs: 0,
      };
    },
  };
}
