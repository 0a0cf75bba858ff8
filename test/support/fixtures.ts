import { readFileSync } from "node:fs";

/** The recorded Travis NAT addresses shipped in fixtures/. */
export function travisAddresses(): string[] {
  const text = readFileSync(new URL("../../fixtures/travis-nat-2020.txt", import.meta.url), "utf8");
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}
