import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testConfig } from "../support/config.js";
import { type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { syncOnce } from "../support/reconcile.js";
import { recordFigure, rounds } from "../support/reliability.js";

const SYNCS = rounds(50, 200);
const BUILD = "127.0.0.21";
let h: RunningHaproxy;

beforeAll(async () => {
  h = await startHaproxy({ kind: "map", entries: [`${BUILD} travis`, "127.0.0.5 office"] });
});
afterAll(() => h.stop());

function churn(round: number): string[] {
  // Every tenth round swaps a 10,000-entry block; the others move a few hundred entries.
  const size = round % 10 === 5 ? 10_000 : 300;
  return Array.from({ length: size }, (_, i) => `${34 + (round % 2)}.${(i >> 8) & 255}.${i & 255}.${round % 250}`);
}

describe("traffic during sync", () => {
  it(
    `an address in every desired set is never denied across ${SYNCS} syncs, and a removed one is denied right after the commit`,
    async () => {
      let stop = false;
      const statuses: number[] = [];
      const client = (async () => {
        while (!stop) statuses.push(await h.statusFrom(BUILD));
      })();
      let removedDenied = 0;
      try {
        for (let round = 0; round < SYNCS; round++) {
          // A canary address comes in this round and leaves in the next.
          const canary = `127.0.1.${round % 250}`;
          const previousCanary = `127.0.1.${(round + 249) % 250}`;
          const config = testConfig({
            staticEntries: [BUILD, canary, ...churn(round)],
            sockets: [h.unixTarget],
            map: h.listFile,
            extra: { guards: { maxAdditions: 100_000, maxRemovals: 100_000 } },
          });
          const result = await syncOnce(config);
          expect(result.instances[0]?.status, `round ${round}`).toBe("applied");
          expect(await h.statusFrom(canary)).toBe(200);
          if (round > 0) {
            expect(await h.statusFrom(previousCanary)).toBe(403);
            removedDenied++;
          }
        }
      } finally {
        // The client loop is always awaited, also when a round fails.
        stop = true;
        await client;
      }
      const denied = statuses.filter((s) => s !== 200).length;
      recordFigure("syncs-under-traffic", SYNCS);
      recordFigure("requests-during-syncs", statuses.length);
      recordFigure("denials", denied);
      recordFigure("removed-denied-after-commit", removedDenied);
      expect(statuses.length).toBeGreaterThan(SYNCS);
      expect(denied).toBe(0);
      // About half a second per sync on a busy two-core machine, a 10,000-entry swap every tenth.
    },
    SYNCS * 2_000,
  );
});
