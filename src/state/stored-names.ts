import type { AbsenceState } from "../model/absence.js";
import type { Scrubber } from "../util/secrets.js";

/**
 * Names as the state files hold them. A source name, target or map path that
 * carries a value from `${VAR}` is written scrubbed, so the file never holds the
 * secret; reading it back, a scrubbed name stands for every configured name
 * that scrubs to the same text. Where two do, an entry is counted as given by
 * both: that can only keep it through its grace period, never remove it sooner.
 */
export class StoredNames {
  private readonly configured: ReadonlyMap<string, ReadonlyArray<string>>;

  constructor(
    private readonly scrubber: Scrubber,
    names: Iterable<string>,
  ) {
    const configured = new Map<string, string[]>();
    for (const name of new Set(names)) {
      const stored = scrubber.text(name);
      configured.set(stored, [...(configured.get(stored) ?? []), name]);
    }
    this.configured = configured;
  }

  store(name: string): string {
    return this.scrubber.text(name);
  }

  /** The configured names a stored one stands for (itself when it names nothing configured). */
  restore(stored: string): ReadonlyArray<string> {
    return this.configured.get(stored) ?? [stored];
  }

  /** The state as written to its file. */
  storedState(state: AbsenceState): AbsenceState {
    return {
      ...state,
      map: this.store(state.map),
      provenance: state.provenance.map((group) => ({ ...group, sources: group.sources.map((s) => this.store(s)) })),
      ...(state.instances ? { instances: this.keys(state.instances, (k) => [this.store(k)]) } : {}),
      ...(state.processes ? { processes: this.keys(state.processes, (k) => [this.store(k)]) } : {}),
    };
  }

  /** The state read from its file, with `map`'s real name; a target that stands for more than one configured target is left out. */
  restoredState(stored: AbsenceState, map: string): AbsenceState {
    const unique = (key: string) => {
      const names = this.restore(key);
      return names.length === 1 ? names : [];
    };
    return {
      ...stored,
      map,
      provenance: stored.provenance.map((group) => ({ ...group, sources: [...new Set(group.sources.flatMap((s) => this.restore(s)))].sort() })),
      ...(stored.instances ? { instances: this.keys(stored.instances, unique) } : {}),
      ...(stored.processes ? { processes: this.keys(stored.processes, unique) } : {}),
    };
  }

  private keys(record: Readonly<Record<string, string>>, rename: (key: string) => ReadonlyArray<string>): Record<string, string> {
    return Object.fromEntries(Object.entries(record).flatMap(([key, value]) => rename(key).map((name) => [name, value])));
  }
}
