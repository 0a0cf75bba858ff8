import { join } from "node:path";
import { z } from "zod";
import { sha256 } from "../util/canonical.js";
import { redactUrl } from "../util/url.js";
import { assertNotWorldWritable, readFileNoFollow, writeFileAtomic } from "../util/atomic.js";
import { scrubSecrets, scrubValue } from "../util/secrets.js";

const cachedFeedSchema = z.object({
  /** Redacted: the cache file never holds a credential. */
  url: z.string(),
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  body: z.string(),
  savedAt: z.string(),
});

export type CachedFeed = z.output<typeof cachedFeedSchema>;

/** One small file per feed URL under `<stateDir>/http-cache/`, named by the URL's hash. */
export class FeedCache {
  constructor(private readonly dir: string) {}

  private pathFor(url: string): string {
    return join(this.dir, "http-cache", `${sha256(url).slice("sha256:".length, "sha256:".length + 32)}.json`);
  }

  async get(url: string): Promise<CachedFeed | undefined> {
    await assertNotWorldWritable(this.dir, "the state directory");
    await assertNotWorldWritable(join(this.dir, "http-cache"), "the feed cache directory");
    try {
      const parsed = cachedFeedSchema.safeParse(JSON.parse(await readFileNoFollow(this.pathFor(url))));
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
    const stored: CachedFeed = { url: scrubSecrets(redactUrl(url)), ...scrubValue(entry) };
    await writeFileAtomic(this.pathFor(url), JSON.stringify(stored), { mode: 0o600 });
  }
}
