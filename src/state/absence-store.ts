import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256 } from "../util/canonical.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type AbsenceState, emptyState } from "../model/absence.js";

export interface LoadedAbsenceState {
  state: AbsenceState;
  /** Set when the file was missing or unreadable and the state starts over. */
  notice: string | null;
}

const REBUILT =
  "rebuilt from the live entries; every owned entry absent upstream starts its grace period now, since without a record an entry nobody published cannot be told from one the sources stopped publishing";

/** The text last read or written per path, so an unchanged state is not rewritten every run. */
const lastText = new Map<string, string>();

/** One small file per map, shared by every instance that loads it. */
export function absenceStatePath(stateDir: string, map: string): string {
  return join(stateDir, `removal-state-${sha256(map).slice("sha256:".length, "sha256:".length + 16)}.json`);
}

function valid(value: unknown, map: string): value is AbsenceState {
  if (value === null || typeof value !== "object") return false;
  const state = value as Partial<AbsenceState>;
  if (state.version !== 1 || state.map !== map || !Array.isArray(state.provenance)) return false;
  if (state.entries === null || typeof state.entries !== "object") return false;
  return (
    state.provenance.every(
      (group) => Array.isArray(group?.sources) && group.sources.every((name) => typeof name === "string") && Array.isArray(group.entries),
    ) &&
    Object.values(state.entries).every(
      (r) => r !== null && typeof r === "object" && Array.isArray(r.events) && (r.firstAbsent === undefined || !Number.isNaN(Date.parse(r.firstAbsent))),
    )
  );
}

/**
 * A missing or corrupt file never causes a removal: the state starts empty,
 * so every absent entry starts its grace period now.
 */
export async function loadAbsenceState(stateDir: string, map: string): Promise<LoadedAbsenceState> {
  const path = absenceStatePath(stateDir, map);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist yet" : `cannot be read (${(err as Error).message})`;
    return { state: emptyState(map), notice: `removal state ${path} ${reason}: ${REBUILT}` };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (valid(parsed, map)) {
      lastText.set(path, text);
      return { state: parsed, notice: null };
    }
  } catch {
    // reported below
  }
  return { state: emptyState(map), notice: `removal state ${path} is corrupt: ${REBUILT}` };
}

export async function saveAbsenceState(stateDir: string, state: AbsenceState): Promise<void> {
  const path = absenceStatePath(stateDir, state.map);
  const text = `${JSON.stringify(state)}\n`;
  if (lastText.get(path) === text) return;
  await writeFileAtomic(path, text, { mode: 0o640 });
  lastText.set(path, text);
}

/** The store the reconciler uses, in `stateDir`. */
export function absenceStore(stateDir: string): { load(map: string): Promise<LoadedAbsenceState>; save(state: AbsenceState): Promise<void> } {
  return { load: (map) => loadAbsenceState(stateDir, map), save: (state) => saveAbsenceState(stateDir, state) };
}
