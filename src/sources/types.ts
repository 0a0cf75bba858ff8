import type { Disagreement, Provenance } from "../model/provenance.js";
import type { SourceType } from "../model/sources.js";

export interface RawEntry {
  value: string;
  provenance: Provenance;
}

export interface SourceResult {
  name: string;
  type: SourceType;
  entries: RawEntry[];
  durationMs: number;
  disagreements?: Disagreement[];
}

export interface Source {
  readonly name: string;
  readonly type: SourceType;
  fetch(): Promise<SourceResult>;
}
