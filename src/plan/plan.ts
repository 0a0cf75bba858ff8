import { parseCidr } from "../model/cidr.js";
import type { ListKind, LiveEntry, WritableEntry } from "../haproxy/protocol.js";

export interface Ownership {
  kind: ListKind;
  /** Map value that marks entries this tool owns (maps only). */
  value: string;
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
  return ownership.kind === "acl" || entry.value === ownership.value;
}

export function hasChanges(plan: InstancePlan): boolean {
  return plan.add.length > 0 || plan.remove.length > 0;
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
    if (wanted.has(canonical)) {
      present.add(canonical);
    } else if (keep.has(canonical)) {
      kept.add(canonical);
    } else {
      removeEntries.push(entry);
      remove.add(canonical);
    }
  }

  const add = desired.filter((text) => !present.has(text));
  const ownedKeysAfter = [...desired, ...kept];
  const owned = ownership.kind === "map" ? ownedKeysAfter.map((key) => ({ key, value: ownership.value })) : ownedKeysAfter.map((key) => ({ key }));
  return {
    add,
    remove: [...remove],
    removeEntries,
    ownedCount,
    foreignCount: foreign.length,
    kept: [...kept],
    content: [...foreign.map((e) => (e.value === undefined ? { key: e.key } : { key: e.key, value: e.value })), ...owned],
  };
}
