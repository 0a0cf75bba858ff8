import { dirname } from "node:path";
import type { Config } from "./schema.js";

/** Where HTTP caches and other small state live: `stateDir`, else beside the audit file. */
export function stateDirOf(config: Pick<Config, "stateDir" | "audit">): string {
  return config.stateDir ?? dirname(config.audit.path);
}
