import type { Config } from "../config/schema.js";
import type { Ownership } from "../plan/plan.js";

/** Which live entries this tool owns, from the config. */
export function ownershipOf(config: Config): Ownership {
  const { kind, value, previousValues } = config.haproxy;
  return { kind, value, previousValues };
}
