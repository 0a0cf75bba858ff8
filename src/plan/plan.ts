import { parseCidr } from "../model/cidr.js";
import type { ListKind, LiveEntry, WritableEntry } from "../haproxy/protocol.js";
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
  return live.filter((e) => isOwned(e, ownership)).map((e) => (known.has(e.key) ? e.key : canonicalLiveKey(e.key)));
}

function canonicalLiveKey(key: string): string {
  const parsed = parseCidr(key, { lenient: true });
  return parsed.ok ? parsed.cidr.text : key;
}

export function isOwned(entry: LiveEntry, ownership: Ownership): boolean {
  if (ownership.kind === "acl" || entry.value === ownership.value) return true;
  return entry.value !== undefined && (ownership.previousValues?.includes(entry.value) ?? false);
}

export function hasChanges(plan: InstancePlan): boolean {
  return plan.add.length > 0 || plan.remove.length > 0 || plan.rewrite.length > 0 || plan.supersede.length > 0;
}

/** Keys (canonical where they parse) that a map holds under more than one value, owned or not. */
export function findDuplicates(live: ReadonlyArray<LiveEntry>): Duplicate[] {
  const values = new Map<string, Set<string>>();
  const seen = new Map<string, string>();
  for (const entry of live) {
    if (entry.value === undefined) continue;
    const key = canonicalLiveKey(entry.key);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, entry.value);
    } else if (first !== entry.value || values.has(key)) {
      const set = values.get(key) ?? new Set([first]);
      set.add(entry.value);
      values.set(key, set);
    }
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
  const wanted = new Set(desired);
  const present = new Set<string>();
  const kept = new Set<string>();
  const removeEntries: LiveEntry[] = [];
  /** Owned copies of each staying key, to find the ones to rewrite. */
  const copies = new Map<string, LiveEntry[]>();
  const remove = new Set<string>();
  const foreign: LiveEntry[] = [];
  let ownedCount = 0;

  for (const entry of live) {
    if (!isOwned(entry, ownership)) {
      foreign.push(entry);
      continue;
    }
    ownedCount++;
    // Keys this tool wrote are already canonical; only other spellings need parsing.
    const canonical = wanted.has(entry.key) ? entry.key : canonicalLiveKey(entry.key);
    if (wanted.has(canonical) || keep.has(canonical)) {
      (wanted.has(canonical) ? present : kept).add(canonical);
      const list = copies.get(canonical);
      if (list) list.push(entry);
      else copies.set(canonical, [entry]);
    } else {
      removeEntries.push(entry);
      remove.add(canonical);
    }
  }

  const add = desired.filter((text) => !present.has(text));
  const rewrite: string[] = [];
  const supersede: LiveEntry[] = [];
  if (ownership.kind === "map") {
    for (const [key, list] of copies) {
      if (list.length === 1 && list[0]?.value === ownership.value) continue;
      // The first copy that already has the value stays; every other copy goes once the key is held under it.
      const keepAt = list.findIndex((e) => e.value === ownership.value);
      if (keepAt === -1) rewrite.push(key);
      supersede.push(...list.filter((_, i) => i !== keepAt));
    }
  }
  const ownedKeysAfter = [...desired, ...kept];
  const owned = ownership.kind === "map" ? ownedKeysAfter.map((key) => ({ key, value: ownership.value })) : ownedKeysAfter.map((key) => ({ key }));
  return {
    add,
    remove: [...remove],
    removeEntries,
    rewrite,
    supersede,
    ownedCount,
    foreignCount: foreign.length,
    kept: [...kept],
    content: [...foreign.map((e) => (e.value === undefined ? { key: e.key } : { key: e.key, value: e.value })), ...owned],
  };
}
