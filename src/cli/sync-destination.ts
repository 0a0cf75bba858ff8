import { writeSync } from "node:fs";

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * A synchronous log destination for a descriptor that may be non-blocking (a
 * pipe): a full pipe is waited out a millisecond at a time, never dropped and
 * never slept on for long, so large audit records cost what they weigh.
 */
export function syncDestination(fd: number): { write(text: string): void } {
  return {
    write(text: string) {
      const data = Buffer.from(text);
      for (let offset = 0; offset < data.length;) {
        try {
          offset += writeSync(fd, data, offset);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
          Atomics.wait(pause, 0, 0, 1);
        }
      }
    },
  };
}
