import { afterEach } from "vitest";
import { type RunningHaproxy, startHaproxy } from "./haproxy.js";
import { tempDir } from "./tmp.js";

/** What a test file's tests start, stopped after each test whatever its outcome, last started first. */
export interface AfterEachTest {
  /** Runs `stop` after the current test. */
  later(stop: () => Promise<void>): void;
  /** A temp directory removed after the current test. */
  dir(prefix: string): Promise<string>;
  /** An HAProxy with a map holding another team's `127.0.0.5 office`, stopped after the current test. */
  haproxy(options?: Parameters<typeof startHaproxy>[0]): Promise<RunningHaproxy>;
}

/** Call once at the top of a test file. */
export function cleanUpAfterEach(): AfterEachTest {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });
  const later = (stop: () => Promise<void>) => void stops.unshift(stop);
  return {
    later,
    async dir(prefix) {
      const t = await tempDir(prefix);
      later(t.remove);
      return t.path;
    },
    async haproxy(options = {}) {
      const h = await startHaproxy({ kind: "map", entries: ["127.0.0.5 office"], ...options });
      later(() => h.stop());
      return h;
    },
  };
}
