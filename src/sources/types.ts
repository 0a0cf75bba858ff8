/** Where a raw value came from; kept through to `resolve`, the plan and the audit trail. */
export interface Provenance {
  source: string;
  hostname?: string;
  resolvers?: string[];
  ttl?: number;
}

export interface RawEntry {
  value: string;
  provenance: Provenance;
}

export interface SourceResult {
  name: string;
  type: string;
  entries: RawEntry[];
  durationMs: number;
}

export interface Source {
  readonly name: string;
  readonly type: string;
  fetch(): Promise<SourceResult>;
}
