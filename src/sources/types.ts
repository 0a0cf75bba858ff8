import type { Disagreement, Provenance } from "../model/provenance.js";

export interface RawEntry {
  value: string;
  provenance: Provenance;
}

export interface SourceResult {
  name: string;
  type: string;
  entries: RawEntry[];
  durationMs: number;
  disagreements?: Disagreement[];
}

export interface Source {
  readonly name: string;
  readonly type: string;
  fetch(): Promise<SourceResult>;
}
