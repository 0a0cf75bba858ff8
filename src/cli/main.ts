#!/usr/bin/env node
import { writeSync } from "node:fs";
import { printable } from "../util/printable.js";
import { Scrubber } from "../util/secrets.js";
import { run } from "./program.js";

const write = (text: string) => new Promise<void>((resolve) => (process.stdout.write(text) ? resolve() : process.stdout.once("drain", resolve)));

// Results and messages never carry a value that came from ${VAR}, wherever it ended up: the config adds them once it is read.
const scrubber = new Scrubber();
const code = await run(process.argv.slice(2), {
  stdout: (text) => write(printable(scrubber.text(text))),
  stderr: (text) => void writeSync(2, printable(scrubber.text(text))),
  env: process.env,
  now: () => new Date(),
  scrubber,
});
// stdout is flushed above; exit now so a stray timer can never keep a CronJob pod alive.
process.exit(code);
