import { canonicalKey } from "../model/cidr.js";
import type { ListKind, LiveEntry, WritableEntry } from "../model/list.js";
import type { Duplicate } from "../model/result.js";

export interface Ownership {
  kind: ListKind;
  /** Map value that marks entries this tool owns (maps only). */
  value: string;
  /** Earlier values of this tool's entries: also owned, rewritten to `value` (maps only). */
  previousValues?: ReadonlyArray<string>;
}

/**
 * What one instance needs: a plain value, computed without I/O, that
 * dry-run prints, guards inspect and the reconciler applies.
 */
export interface InstancePlan {
  /** Canonical entries to add, sorted as desired. */
  add: string[];
  /** Owned live keys to remove (canonical where they parse, else as read). */
  remove: string[];
  /** The owned live entries behind `remove`, for deletion by reference. */
  removeEntries: LiveEntry[];
  /** Owned keys that stay but are held only under a previous value: rewritten to the current one. */
  rewrite: string[];
  /** Owned live copies that go although their key stays (previous values, extra copies), deleted by reference after any re-add. */
  supersede: LiveEntry[];
  ownedCount: number;
  foreignCount: number;
  /** Owned entries no longer desired but kept for now (removal grace period), canonical. */
  kept: string[];
  /** The complete list after the change: foreign entries as read, then owned desired and kept entries. */
  content: WritableEntry[];
}

/** Canonical keys of the owned entries of a live list; keys already in `known` are canonical as they are. */
export function ownedKeys(live: ReadonlyArray<LiveEntry>, ownership: Ownership, known: { has(key: string): boolean } = new Set()): string[] {
  return live.filter((e) => isOwned(e, ownership)).map((e) => (known.has(e.key) ? e.key : canonicalKey(e.key)));
}

export function isOwned(entry: { value?: string }, ownership: Ownership): boolean {
  if (ownership.kind === "acl" || entry.value === ownership.value) return true;
  return entry.value !== undefined && (ownership.previousValues?.includes(entry.value) ?? false);
}

export function hasChanges(plan: InstancePlan): boolean {
  return plan.add.length > 0 || plan.remove.length > 0 || plan.rewrite.length > 0 || plan.supersede.length > 0;
}

/**
 * Keys (canonical where they parse) that a map holds under more than one
 * value, owned or not. Owned entries under the current value can only clash
 * with a foreign or previous-value copy, so only those few keys are tracked:
 * a 100,000-entry list costs one set lookup per entry. Keys in `known` are
 * canonical as they are.
 */
export function findDuplicates(
  live: ReadonlyArray<{ key: string; value?: string }>,
  ownership: Ownership,
  known: { has(key: string): boolean } = new Set(),
): Duplicate[] {
  const canonical = (key: string) => (known.has(key) ? key : canonicalKey(key));
  const values = new Map<string, Set<string>>();
  const note = (key: string, value: string) => {
    const set = values.get(key);
    if (set) set.add(value);
    else values.set(key, new Set([value]));
  };
  const current: Array<{ key: string }> = [];
  for (const entry of live) {
    if (entry.value === undefined) continue;
    if (entry.value === ownership.value) current.push(entry);
    else note(canonical(entry.key), entry.value);
  }
  if (values.size === 0) return [];
  for (const entry of current) {
    const key = canonical(entry.key);
    if (values.has(key)) note(key, ownership.value);
  }
  return [...values].filter(([, set]) => set.size > 1).map(([entry, set]) => ({ entry, values: [...set].sort() }));
}

/**
 * `desired` holds canonical CIDR texts. Live owned keys are canonicalised
 * the way HAProxy reads them, so `1.2.3.4` live equals `1.2.3.4/32` desired.
 * Owned live entries in `keep` stay even though they are not desired.
 */
export function computePlan(
  live: ReadonlyArray<LiveEntry>,
  desired: ReadonlyArray<string>,
  ownership: Ownership,
  keep: ReadonlySet<string> = new Set(),
): InstancePlan {
  const sorted = sortLive(live, new Set(desired), keep, ownership);
  const rewrite = rewriteOldCopies(sorted);
  const ownedAfter = [...desired, ...sorted.kept].map((key) => (ownership.kind === "map" ? { key, value: ownership.value } : { key }));
  return {
    add: desired.filter((text) => !sorted.held.has(text)),
    remove: [...sorted.remove],
    removeEntries: sorted.removeEntries,
    rewrite,
    supersede: sorted.supersede,
    ownedCount: sorted.ownedCount,
    foreignCount: sorted.foreign.length,
    kept: [...sorted.kept],
    content: [...sorted.foreign.map((e) => (e.value === undefined ? { key: e.key } : { key: e.key, value: e.value })), ...ownedAfter],
  };
}

/** A live list sorted against what stays: foreign entries, and owned ones that stay, are rewritten or go. */
interface SortedLive {
  foreign: LiveEntry[];
  ownedCount: number;
  /** Staying keys held under the current value (any key of an ACL). */
  held: Set<string>;
  /** Staying owned copies under a previous value (maps only). */
  old: Array<{ canonical: string; entry: LiveEntry }>;
  /** Staying keys that are not desired (removal grace period). */
  kept: Set<string>;
  removeEntries: LiveEntry[];
  remove: Set<string>;
  supersede: LiveEntry[];
}

function sortLive(live: ReadonlyArray<LiveEntry>, wanted: ReadonlySet<string>, keep: ReadonlySet<string>, ownership: Ownership): SortedLive {
  const sorted: SortedLive = { foreign: [], ownedCount: 0, held: new Set(), old: [], kept: new Set(), removeEntries: [], remove: new Set(), supersede: [] };
  for (const entry of live) {
    if (!isOwned(entry, ownership)) {
      sorted.foreign.push(entry);
      continue;
    }
    sorted.ownedCount++;
    // Keys this tool wrote are already canonical; only other spellings need parsing.
    const canonical = wanted.has(entry.key) ? entry.key : canonicalKey(entry.key);
    if (wanted.has(canonical) || keep.has(canonical)) {
      if (!wanted.has(canonical)) sorted.kept.add(canonical);
      if (ownership.kind === "acl" || entry.value === ownership.value) {
        // A second copy of a map key goes; the first one with the current value stays.
        if (sorted.held.has(canonical) && ownership.kind === "map") sorted.supersede.push(entry);
        else sorted.held.add(canonical);
      } else {
        sorted.old.push({ canonical, entry });
      }
    } else {
      sorted.removeEntries.push(entry);
      sorted.remove.add(canonical);
    }
  }
  return sorted;
}

/** A key held only under a previous value is re-added under the current one (the keys returned); every old copy goes. */
function rewriteOldCopies(sorted: SortedLive): string[] {
  const rewrite: string[] = [];
  for (const { canonical, entry } of sorted.old) {
    sorted.supersede.push(entry);
    if (!sorted.held.has(canonical)) {
      sorted.held.add(canonical);
      rewrite.push(canonical);
    }
  }
  return rewrite;
}
