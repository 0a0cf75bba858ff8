/** Where a raw value came from; kept through to `resolve`, the plan and the audit trail. */
export interface Provenance {
  source: string;
  /** For feeds, redacted. */
  url?: string;
  hostname?: string;
  resolvers?: string[];
  ttl?: number;
}

/** An address some resolvers returned and others did not. */
export interface Disagreement {
  address: string;
  hostname: string;
  returnedBy: string[];
  /** Resolvers that answered without it, or failed. */
  missingFrom: string[];
  /** False when too few resolvers returned it to meet the quorum: it was dropped. */
  counted: boolean;
}
