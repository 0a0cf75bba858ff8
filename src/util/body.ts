/** A response body as undici gives it: chunks, and a way to stop receiving. */
export interface ReadableBody extends AsyncIterable<unknown> {
  destroy(): unknown;
}

/** Reads at most `limit` bytes; a larger body is undefined (an error to the caller), never silently cut. */
export async function readLimited(body: ReadableBody, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += bytes.length;
    if (size > limit) {
      body.destroy();
      return undefined;
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

/** The first `limit` bytes of a reply that is only shown, never parsed; the rest is not received. */
export async function readStart(body: ReadableBody, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    chunks.push(bytes);
    size += bytes.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit);
}
