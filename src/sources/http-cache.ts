import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256 } from "../util/canonical.js";
import { redactUrl } from "../config/redact.js";
import { writeFileAtomic } from "../util/atomic.js";

export interface CachedFeed {
  /** Redacted: the cache file never holds a credential. */
  url: string;
  etag?: string;
  lastModified?: string;
  body: string;
  savedAt: string;
}

/** One small file per feed URL under `<stateDir>/http-cache/`, named by the URL's hash. */
export class FeedCache {
  constructor(private readonly dir: string) {}

  private pathFor(url: string): string {
    return join(this.dir, "http-cache", `${sha256(url).slice("sha256:".length, "sha256:".length + 32)}.json`);
  }

  async get(url: string): Promise<CachedFeed | undefined> {
    try {
      const cached = JSON.parse(await readFile(this.pathFor(url), "utf8")) as CachedFeed;
      return typeof cached.body === "string" ? cached : undefined;
    } catch {
      return undefined;
    }
  }

  async put(url: string, entry: Omit<CachedFeed, "url">): Promise<void> {
    await writeFileAtomic(this.pathFor(url), JSON.stringify({ url: redactUrl(url), ...entry }), { mode: 0o600 });
  }
}
