import { mkdtempSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Every directory made here and not yet removed; the test setup (test/support/setup.ts) removes them after each file. */
const made = new Set<string>();

export interface TempDir {
  path: string;
  remove: () => Promise<void>;
}

function track(path: string): TempDir {
  made.add(path);
  return {
    path,
    remove: async () => {
      made.delete(path);
      await rm(path, { recursive: true, force: true });
    },
  };
}

/** A private (0700) directory under the system temp directory, removed by `remove()` or, at the latest, when the test file ends. */
export async function tempDir(prefix = "ta-"): Promise<TempDir> {
  return track(await mkdtemp(join(tmpdir(), prefix)));
}

/** `tempDir` for the rare caller that cannot await. */
export function tempDirSync(prefix = "ta-"): TempDir {
  return track(mkdtempSync(join(tmpdir(), prefix)));
}

/** Removes every directory `tempDir` made that its test did not remove itself. */
export async function removeTempDirs(): Promise<void> {
  const left = [...made];
  made.clear();
  await Promise.all(left.map((path) => rm(path, { recursive: true, force: true })));
}
