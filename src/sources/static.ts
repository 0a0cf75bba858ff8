import type { StaticSourceConfig } from "../config/schema.js";
import type { Source, SourceResult } from "./types.js";

export function staticSource(config: StaticSourceConfig): Source {
  return {
    name: config.name,
    type: "static",
    fetch(): Promise<SourceResult> {
      return Promise.resolve({
        name: config.name,
        type: "static",
        published: [{ provenance: { source: config.name }, values: config.entries }],
        durationMs: 0,
      });
    },
  };
}
