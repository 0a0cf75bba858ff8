import { afterAll } from "vitest";
import { removeTempDirs } from "./tmp.js";

// Registered before any hook of the test file, so it runs after all of them (after-hooks run in reverse): servers are stopped first.
afterAll(removeTempDirs);
