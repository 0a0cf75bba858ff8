import type { Cidr } from "./cidr.js";
import type { Provenance } from "./provenance.js";

export interface DesiredEntry {
  cidr: Cidr;
  /** Shared between entries with the same origins (every entry of one feed has the same): never changed in place. */
  provenance: ReadonlyArray<Provenance>;
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
