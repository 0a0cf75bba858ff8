/**
 * The layers of src/ and the imports allowed between them. Checked on every
 * import form: static, type-only (kept by tsPreCompilationDeps) and dynamic
 * `import()`, so a layer cannot be reached around a rule.
 */

const ADAPTERS = ["haproxy", "sources", "dns", "config", "audit", "alert", "metrics", "state", "util", "http"];
const UPPER = "^src/(reconcile|cli|daemon)/";

/**
 * The only imports from one adapter into another. Everything else an adapter
 * needs beyond itself comes from model/, util/ or errors.ts.
 */
const SIDEWAYS = {
  // Instances are discovered from DNS SRV and A records.
  haproxy: ["^src/dns/"],
  // The dns source asks resolvers through the DNS client.
  sources: ["^src/dns/"],
};

/** Adapters configured by a section of config/schema.ts may name its types, never run its code. */
const CONFIG_TYPE_READERS = ["sources", "alert"];
const CONFIG_SCHEMA = "^src/config/schema\\.ts$";

const BASE = ["^src/model/", "^src/util/", "^src/errors\\.ts$"];

/** The one HTTP client, for every adapter that speaks HTTP (feeds, DoH, alert sinks, the Pushgateway); it sits on util/, never the reverse. */
const HTTP_CLIENT = "^src/http/";

function sidewaysRule(adapter) {
  const allowed = [`^src/${adapter}/`, ...BASE, HTTP_CLIENT, ...(SIDEWAYS[adapter] ?? []), ...(CONFIG_TYPE_READERS.includes(adapter) ? [CONFIG_SCHEMA] : [])];
  return {
    name: `${adapter}-sideways`,
    severity: "error",
    comment: `${adapter}/ imports only itself, model/, util/, http/, errors.ts and its edges in SIDEWAYS; move what two adapters share down into model/ or util/`,
    from: { path: `^src/${adapter}/` },
    to: { path: "^src/", pathNot: [...allowed, UPPER] },
  };
}

export default {
  forbidden: [
    {
      name: "model-pure",
      severity: "error",
      comment: "model/ is shared value types and pure helpers: it imports only model/, errors.ts, ip-cidr and node:crypto (hashing), no I/O",
      from: { path: "^src/model/" },
      to: { pathNot: ["^src/model/", "^src/errors\\.ts$", "^node_modules/ip-cidr/", "^crypto$"] },
    },
    {
      name: "plan-pure",
      severity: "error",
      comment: "plan/ is pure: it imports only model/, plan/ and errors.ts",
      from: { path: "^src/plan/" },
      to: { pathNot: ["^src/model/", "^src/plan/", "^src/errors\\.ts$"] },
    },
    {
      name: "errors-base",
      severity: "error",
      comment: "errors.ts is the base module: it imports nothing from src/",
      from: { path: "^src/errors\\.ts$" },
      to: { path: "^src/" },
    },
    {
      name: "adapter-upward",
      severity: "error",
      comment: "adapters never depend on the reconciler, the CLI or the daemon",
      from: { path: `^src/(${ADAPTERS.join("|")})/` },
      to: { path: UPPER },
    },
    {
      name: "util-base",
      severity: "error",
      comment: "util/ sits under every adapter: it imports only util/, model/ and errors.ts",
      from: { path: "^src/util/" },
      to: { path: "^src/", pathNot: [...BASE, UPPER] },
    },
    ...ADAPTERS.filter((adapter) => adapter !== "util").map(sidewaysRule),
    {
      name: "adapter-config-types-only",
      severity: "error",
      comment: "an adapter may name the types of config/schema.ts, not run it: validation is config/'s job",
      from: { path: `^src/(${CONFIG_TYPE_READERS.join("|")})/` },
      to: { path: CONFIG_SCHEMA, dependencyTypesNot: ["type-only"] },
    },
    {
      name: "reconcile-below-cli",
      severity: "error",
      comment: "the reconciler never depends on the CLI or the daemon",
      from: { path: "^src/reconcile/" },
      to: { path: "^src/(cli|daemon)/" },
    },
    {
      name: "daemon-below-cli",
      severity: "error",
      comment: "the daemon never depends on the CLI, which starts it",
      from: { path: "^src/daemon/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "commands-independent",
      severity: "error",
      comment: "a command module never imports another: what commands share is built once, in cli/wiring.ts, or lives beside it in cli/",
      from: { path: "^src/cli/commands/" },
      to: { path: "^src/cli/commands/" },
    },
    {
      name: "no-folder-cycles",
      severity: "error",
      comment: "folders of src/ form layers; a cycle between them means one of them is in the wrong place",
      scope: "folder",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "resolvable",
      severity: "error",
      comment: "an import that does not resolve cannot be checked against the rules above",
      from: { path: "^src/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
