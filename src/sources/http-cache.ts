import { join } from "node:path";
import { z } from "zod";
import { sha256 } from "../util/canonical.js";
import { redactUrl } from "../util/url.js";
import { readFileNoFollow, writeFileAtomic } from "../util/atomic.js";
import type { Scrubber } from "../util/secrets.js";
import { assertTrustedPath } from "../util/trusted-path.js";

const cachedFeedSchema = z.object({
  /** Redacted: the cache file never holds a credential. */
  url: z.string(),
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  body: z.string(),
  savedAt: z.string(),
});

export type CachedFeed = z.output<typeof cachedFeedSchema>;

/** What the feed said about its version: it answers 304 when asked with these and nothing changed. */
export interface FeedValidators {
  etag?: string | undefined;
  lastModified?: string | undefined;
}

/** The conditional request headers for a cached copy (none without one). */
export function conditionalHeaders(cached: CachedFeed | undefined): Record<string, string> {
  return {
    ...(cached?.etag ? { "if-none-match": cached.etag } : {}),
    ...(cached?.lastModified ? { "if-modified-since": cached.lastModified } : {}),
  };
}

/** One small file per feed URL under `<stateDir>/http-cache/`, named by the URL's hash. */
export class FeedCache {
  constructor(
    private readonly dir: string,
    private readonly scrubber: Scrubber,
  ) {}

  private pathFor(url: string): string {
    return join(this.dir, "http-cache", `${sha256(url).slice("sha256:".length, "sha256:".length + 32)}.json`);
  }

  /**
   * A cached body is trusted as the feed's own answer to a 304: the state
   * directory, the cache directory and the file must be ones no other user
   * could have written (E_STATE_DIR), or the source fails.
   */
  private async assertTrusted(path: string): Promise<void> {
    await assertTrustedPath(this.dir, "the state directory");
    await assertTrustedPath(join(this.dir, "http-cache"), "the feed cache directory");
    await assertTrustedPath(path, "the cached feed");
  }

  async get(url: string): Promise<CachedFeed | undefined> {
    const path = this.pathFor(url);
    await this.assertTrusted(path);
    try {
      const parsed = cachedFeedSchema.safeParse(JSON.parse(await readFileNoFollow(path)));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * No secret lands in the file: a feed that echoes its request (a token in
   * a comment line, an ETag built from it) is stored scrubbed, the URL redacted.
   */
  async put(url: string, entry: Omit<CachedFeed, "url">): Promise<void> {
    const stored: CachedFeed = { url: this.scrubber.text(redactUrl(url)), ...this.scrubber.value(entry) };
    const path = this.pathFor(url);
    await this.assertTrusted(path);
    await writeFileAtomic(path, JSON.stringify(stored), { mode: 0o600 });
  }

  /**
   * Keeps a body that has validators, to ask for it conditionally next time.
   * The cache only saves a download: a state directory this run may not
   * write (a dry run on the scheduled job's state, mounted read-only) must
   * not fail the source.
   */
  async remember(url: string, body: string, { etag, lastModified }: FeedValidators, savedAt: string): Promise<void> {
    if (!etag && !lastModified) return;
    await this.put(url, { body, savedAt, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) }).catch(() => undefined);
  }
}
