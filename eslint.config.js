import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
    // The layer rules in .dependency-cruiser.mjs can only check an import() whose specifier they can read.
    files: ["src/**"],
    rules: {
      "no-restricted-syntax": [
        "error",
        { selector: "ImportExpression[source.type!='Literal']", message: "import() takes a string literal, so that the layer rules see what it loads" },
      ],
    },
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
    files: ["eslint.config.js", ".dependency-cruiser.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
