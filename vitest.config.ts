import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Removes the temp dirs a test file made and left behind.
    setupFiles: ["test/support/setup.ts"],
    // A second run (another Node version, in CI) keeps its own report.
    reporters: ["default", ["json", { outputFile: process.env.VITEST_REPORT ?? "reports/vitest.json" }]],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
