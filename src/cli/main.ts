#!/usr/bin/env node
import { writeSync } from "node:fs";
import { run } from "./program.js";

const write = (text: string) => new Promise<void>((resolve) => (process.stdout.write(text) ? resolve() : process.stdout.once("drain", resolve)));

const code = await run(process.argv.slice(2), {
  stdout: write,
  stderr: (text) => void writeSync(2, text),
  env: process.env,
});
// stdout is flushed above; exit now so a stray timer can never keep a CronJob pod alive.
process.exit(code);
