import { describe, expect, it } from "vitest";
import { newProcesses, type Processes } from "../../../src/daemon/watch.js";

const A = "unix:///run/haproxy/admin.sock";
const B = "tls://10.0.0.6:9999";
const seen = (entries: Array<[string, string | undefined]>): Processes => new Map(entries);

describe("newProcesses", () => {
  it.each([
    ["the first look is only a baseline", undefined, seen([[A, "7@100"]]), []],
    ["the same process", seen([[A, "7@100"]]), seen([[A, "7@100"]]), []],
    ["a restart (new pid and start time)", seen([[A, "7@100"]]), seen([[A, "9@160"]]), [A]],
    ["a restart as pid 1 in a container (new start time only)", seen([[A, "1@100"]]), seen([[A, "1@160"]]), [A]],
    ["back after being unreachable", seen([[A, undefined]]), seen([[A, "9@160"]]), [A]],
    ["now unreachable: nothing to sync yet", seen([[A, "7@100"]]), seen([[A, undefined]]), []],
    [
      "a newly discovered instance",
      seen([[A, "7@100"]]),
      seen([
        [A, "7@100"],
        [B, "3@170"],
      ]),
      [B],
    ],
    [
      "an instance that went away",
      seen([
        [A, "7@100"],
        [B, "3@170"],
      ]),
      seen([[A, "7@100"]]),
      [],
    ],
  ])("%s", (_name, previous, current, expected) => expect(newProcesses(previous, current)).toEqual(expected));
});
