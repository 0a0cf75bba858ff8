import type { Cidr } from "./cidr.js";
import type { Provenance } from "./provenance.js";

export interface DesiredEntry {
  cidr: Cidr;
  provenance: Provenance[];
}

export interface Rejection {
  source: string;
  value: string;
  reason: string;
}

export interface DesiredSet {
  entries: DesiredEntry[];
  rejected: Rejection[];
  /** Entries dropped or narrowed by `exclude`. */
  excluded: Array<{ entry: string; by: string }>;
  digest: string;
}
