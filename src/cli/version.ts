import { readFileSync } from "node:fs";

export function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  if (pkg !== null && typeof pkg === "object" && "version" in pkg && typeof pkg.version === "string") return pkg.version;
  // The package's own file, shipped with it: without a version the install is broken, which is a bug to report.
  throw new Error("package.json has no version string");
}
