/**
 * Runtime API text: command building and response parsing, no I/O. Every
 * byte that reaches the socket is built here and checked here.
 */
export type ListKind = "map" | "acl";

export interface LiveEntry {
  /** HAProxy's pointer for this entry, usable as `#<ref>` in `del`. */
  ref: string;
  key: string;
  /** Map value; absent for ACL patterns. */
  value?: string;
}

export interface WritableEntry {
  key: string;
  value?: string;
}

/** HAProxy's own matcher's answer for one address (`get map` / `get acl`). */
export interface MatchAnswer {
  address: string;
  found: boolean;
  /** The matching entry's key exactly as HAProxy holds it. */
  key: string | null;
  /** The matching map entry's value; null for ACLs and when nothing matched. */
  value: string | null;
}
