import type { Disagreement, Provenance } from "../model/provenance.js";
import type { SourceType } from "../model/sources.js";

export interface RawEntry {
  value: string;
  provenance: Provenance;
}

/** Values published from one origin, as given: a feed or a static list is one group, a DNS address its own. */
export interface RawValues {
  provenance: Provenance;
  values: ReadonlyArray<string>;
}

export interface SourceResult {
  name: string;
  type: SourceType;
  /** Grouped by origin: a 5 MB feed is one group, where an object per value would cost more than the value. */
  published: RawValues[];
  durationMs: number;
  disagreements?: Disagreement[];
}

export interface Source {
  readonly name: string;
  readonly type: SourceType;
  fetch(): Promise<SourceResult>;
}
