/** A response body as undici gives it: chunks, and a way to stop receiving. */
export interface ReadableBody extends AsyncIterable<Uint8Array> {
  destroy(): unknown;
}

/** Receives chunks until the body ends or `stopAt` bytes have come; then the rest is not received. */
async function receive(body: ReadableBody, stopAt: number): Promise<{ bytes: Buffer; stopped: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    chunks.push(bytes);
    size += bytes.length;
    if (size >= stopAt) {
      body.destroy();
      return { bytes: Buffer.concat(chunks), stopped: true };
    }
  }
  return { bytes: Buffer.concat(chunks), stopped: false };
}

/** The whole body of at most `limit` bytes; a larger one is undefined (an error to the caller), never silently cut. */
export async function readWhole(body: ReadableBody, limit: number): Promise<Buffer | undefined> {
  const { bytes, stopped } = await receive(body, limit + 1);
  return stopped ? undefined : bytes;
}

/** The first `limit` bytes of a reply that is only shown, never parsed. */
export async function readStart(body: ReadableBody, limit: number): Promise<Buffer> {
  return (await receive(body, limit)).bytes.subarray(0, limit);
}
