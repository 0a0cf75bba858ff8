import { chmod, chown, mkdir, open, rename, stat } from "node:fs/promises";
import { dirname } from "node:path";

export interface AtomicWriteOptions {
  mode?: number;
  /** Keep the owner and mode of the file being replaced, when it exists. */
  preserveOwnership?: boolean;
}

/**
 * Replaces a file so that readers see the old or the new content, never a
 * mix: write a temporary file in the same directory, fsync, rename, fsync
 * the directory.
 */
export async function writeFileAtomic(path: string, content: string, options: AtomicWriteOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const previous = options.preserveOwnership ? await stat(path).catch(() => undefined) : undefined;
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(temp, "w", options.mode ?? 0o640);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (previous) {
    await chmod(temp, previous.mode & 0o7777);
    await chown(temp, previous.uid, previous.gid).catch(() => undefined);
  }
  await rename(temp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
