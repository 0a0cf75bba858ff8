import { parseResolver, type ResolverAddress } from "../../src/util/resolver.js";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import { parseConfig } from "../../src/config/parse.js";
import type { Config } from "../../src/config/schema.js";

export interface TestConfigOptions {
  resolver?: string;
  names?: string[];
  /**
   * Each DNS try's deadline (default 2 s): the test's own DNS server answers from a process that is busy
   * running the test, on a machine that may be busy too. Only a test of silence wants it short.
   */
  dnsTimeoutMs?: number;
  staticEntries?: string[];
  sockets: string[];
  discover?: { dns: string; port?: number; resolvers?: string[] };
  map: string;
  kind?: "map" | "acl";
  /** Defaults to audit.jsonl beside the map file (a test's temp dir). */
  auditPath?: string;
  /** `haproxy.denials`: the denied clients' stick table. */
  denials?: { table: string; expire?: string };
  /** Merged over the top level (e.g. exclude, guards). */
  extra?: Record<string, unknown>;
}

/** The config document the tests write: a DNS source on a loopback resolver, loopback sources allowed. */
export function configDocument(o: TestConfigOptions): Record<string, unknown> {
  const sources: unknown[] = [];
  if (o.resolver)
    sources.push({
      name: "travis-dns",
      type: "dns",
      names: o.names ?? ["nat.travisci.net"],
      resolvers: [o.resolver],
      timeoutMs: o.dnsTimeoutMs ?? 2000,
      retries: 1,
    });
  if (o.staticEntries) sources.push({ name: "pinned", type: "static", entries: o.staticEntries });
  const { guards, ...rest } = (o.extra ?? {}) as { guards?: Record<string, unknown> };
  return {
    sources,
    haproxy: {
      sockets: o.sockets,
      map: o.map,
      kind: o.kind ?? "map",
      timeoutMs: 10_000,
      ...(o.discover ? { discover: o.discover } : {}),
      ...(o.denials ? { denials: o.denials } : {}),
    },
    // Most tests want removals at once; the grace period has its own tests.
    guards: { allowReserved: true, removeAfter: "0", ...guards },
    audit: { path: o.auditPath ?? join(dirname(o.map), "audit.jsonl") },
    ...rest,
  };
}

/** Parsed through the real config parser, so defaults are the product's own. */
export function testConfig(o: TestConfigOptions): Config {
  const parsed = parseConfig(JSON.stringify(configDocument(o)), {});
  if (!parsed.config) throw new Error(JSON.stringify(parsed.issues));
  return parsed.config;
}

export async function writeConfig(dir: string, o: TestConfigOptions, name = "travis-allowlist.yaml"): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, stringify(configDocument(o)));
  return path;
}

/** A resolver as the parsed config holds it, for tests that change a parsed config. */
export function resolverAt(text: string): ResolverAddress {
  const parsed = parseResolver(text);
  if (!parsed) throw new Error(`not a resolver address: ${text}`);
  return parsed;
}
