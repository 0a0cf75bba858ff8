import { join } from "node:path";
import { sha256 } from "../util/canonical.js";
import { assertNotWorldWritable, readFileNoFollow, writeFileAtomic } from "../util/atomic.js";
import { permissionAdvice } from "../util/permission.js";
import { type AbsenceState, emptyState } from "../model/absence.js";
import { parseAbsenceState } from "./schema.js";

export interface LoadedAbsenceState {
  state: AbsenceState;
  /** Why the state starts over, when the file was missing, unreadable or corrupt: a few words for the planner to complete. */
  notice: string | null;
}

/** The text last read or written per path, so an unchanged state is not rewritten every run. */
const lastText = new Map<string, string>();

/** One small file per map, shared by every instance that loads it. */
export function absenceStatePath(stateDir: string, map: string): string {
  return join(stateDir, `removal-state-${sha256(map).slice("sha256:".length, "sha256:".length + 16)}.json`);
}

/**
 * A missing or corrupt file never causes a removal: the state starts empty,
 * so every absent entry starts its grace period now. A state directory other
 * users can write to is refused, for dry runs and status too: a planted state
 * could make a stranger's entry look once published, and hide it as drift.
 */
export async function loadAbsenceState(stateDir: string, map: string): Promise<LoadedAbsenceState> {
  await assertNotWorldWritable(stateDir, "the state directory");
  const path = absenceStatePath(stateDir, map);
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
  const state = parseAbsenceState(text, map);
  if (state) {
    lastText.set(path, text);
    return { state, notice: null };
  }
  return { state: emptyState(map), notice: `removal state ${path} is corrupt` };
}

export async function saveAbsenceState(stateDir: string, state: AbsenceState): Promise<void> {
  const path = absenceStatePath(stateDir, state.map);
  const text = `${JSON.stringify(state)}\n`;
  if (lastText.get(path) === text) return;
  await writeFileAtomic(path, text, { mode: 0o600 });
  lastText.set(path, text);
}

/** The store the reconciler uses, in `stateDir`. */
export function absenceStore(stateDir: string): { load(map: string): Promise<LoadedAbsenceState>; save(state: AbsenceState): Promise<void> } {
  return { load: (map) => loadAbsenceState(stateDir, map), save: (state) => saveAbsenceState(stateDir, state) };
}
