import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Imports that would make a layer depend on one above it. */
const restrict = (regex, message) => ({ "no-restricted-imports": ["error", { patterns: [{ regex, message }] }] });

const ADAPTERS = [
  "src/haproxy/**",
  "src/sources/**",
  "src/dns/**",
  "src/config/**",
  "src/audit/**",
  "src/alert/**",
  "src/metrics/**",
  "src/state/**",
  "src/util/**",
];

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "reports/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { project: ["./tsconfig.json"], tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      // It calls assertions unnecessary that tsc needs under noUncheckedIndexedAccess; tsc has the last word.
      "@typescript-eslint/no-unnecessary-type-assertion": "off",
    },
  },
  {
    files: ["src/model/**"],
    rules: restrict("^\\.\\./", "model/ holds shared value types and pure helpers; it imports nothing above it"),
  },
  {
    files: ["src/plan/**"],
    rules: restrict("^\\.\\./(?!model/)", "plan/ is pure: it imports only model/"),
  },
  {
    files: ADAPTERS,
    rules: restrict("/(reconcile|cli|daemon)/", "adapters never depend on the reconciler, the CLI or the daemon"),
  },
  {
    files: ["src/reconcile/**"],
    rules: restrict("/(cli|daemon)/", "the reconciler never depends on the CLI or the daemon"),
  },
  {
    // Tests read JSON from processes and files; checking its shape there is the assertion's job.
    files: ["test/**", "bench/**", "demo/**"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    files: ["eslint.config.js"],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
