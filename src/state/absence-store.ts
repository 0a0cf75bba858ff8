import { join } from "node:path";
import { sha256 } from "../util/canonical.js";
import { readFileNoFollow, writeFileAtomic } from "../util/atomic.js";
import { permissionAdvice } from "../util/permission.js";
import { assertTrustedPath } from "../util/trusted-path.js";
import { type AbsenceState, emptyState } from "../model/absence.js";
import { parseAbsenceState } from "./schema.js";
import type { StoredNames } from "./stored-names.js";

export interface LoadedAbsenceState {
  state: AbsenceState;
  /** Why the state starts over, when the file was missing, unreadable or corrupt: a few words for the planner to complete. */
  notice: string | null;
}

/** One small file per map, shared by every instance that loads it. */
export function absenceStatePath(stateDir: string, map: string): string {
  return join(stateDir, `removal-state-${sha256(map).slice("sha256:".length, "sha256:".length + 16)}.json`);
}

/**
 * The removal state files in `stateDir`, one per map. It remembers the text it
 * last read or wrote per file, so an unchanged state is not rewritten every run
 * (a daemon keeps one store for its life). Names carrying a secret are written
 * scrubbed (`StoredNames`).
 */
export class AbsenceStore {
  private readonly lastText = new Map<string, string>();

  constructor(
    private readonly stateDir: string,
    private readonly names: StoredNames,
  ) {}

  /** The state directory and the file, refused (E_STATE_DIR) when another user could have written them. */
  private async assertTrusted(path: string): Promise<void> {
    await assertTrustedPath(this.stateDir, "the state directory");
    await assertTrustedPath(path, "the removal state file");
  }

  /**
   * A missing or corrupt file never causes a removal: the state starts empty,
   * so every absent entry starts its grace period now. A state path other
   * users could have written is refused, for dry runs and status too: a planted
   * state could make a stranger's entry look once published, and hide it as drift.
   */
  async load(map: string): Promise<LoadedAbsenceState> {
    const path = absenceStatePath(this.stateDir, map);
    await this.assertTrusted(path);
    let text: string;
    try {
      text = await readFileNoFollow(path);
    } catch (err) {
      const notice =
        (err as NodeJS.ErrnoException).code === "ENOENT"
          ? "no removal state yet"
          : `removal state ${path} cannot be read (${(await permissionAdvice(path, err)) ?? (err as Error).message})`;
      return { state: emptyState(map), notice };
    }
    const stored = parseAbsenceState(text, this.names.store(map));
    if (stored) {
      this.lastText.set(path, text);
      return { state: this.names.restoredState(stored, map), notice: null };
    }
    return { state: emptyState(map), notice: `removal state ${path} is corrupt` };
  }

  async save(state: AbsenceState): Promise<void> {
    const path = absenceStatePath(this.stateDir, state.map);
    const text = `${JSON.stringify(this.names.storedState(state))}\n`;
    if (this.lastText.get(path) === text) return;
    await this.assertTrusted(path);
    await writeFileAtomic(path, text, { mode: 0o600 });
    this.lastText.set(path, text);
  }
}
