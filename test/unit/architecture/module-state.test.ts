import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../../src", import.meta.url));
const COLLECTIONS: ReadonlySet<string> = new Set(["Map", "Set", "WeakMap", "WeakSet"]);

/**
 * What a module keeps at its top level lives as long as the process and is
 * shared by every run, command and test in it: state belongs to an object that
 * the composition root or a run makes. A top-level `let` or `var` is state; a
 * top-level collection is state unless its type says it is read-only.
 */
function moduleStateIn(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const list = statement.declarationList;
    const constant = (list.flags & ts.NodeFlags.Const) !== 0;
    for (const declaration of list.declarations) {
      const name = declaration.name.getText(source);
      const line = source.getLineAndCharacterOfPosition(declaration.getStart(source)).line + 1;
      if (!constant) found.push(`${fileName}:${line} ${name}: a module-level ${(list.flags & ts.NodeFlags.Let) !== 0 ? "let" : "var"}`);
      else if (isMutableCollection(declaration)) found.push(`${fileName}:${line} ${name}: a module-level collection not typed Readonly`);
    }
  }
  return found;
}

function isMutableCollection(declaration: ts.VariableDeclaration): boolean {
  const init = declaration.initializer;
  if (!init || !ts.isNewExpression(init) || !ts.isIdentifier(init.expression) || !COLLECTIONS.has(init.expression.text)) return false;
  const type = declaration.type;
  return !(type && ts.isTypeReferenceNode(type) && /^Readonly(Map|Set)$/.test(type.typeName.getText()));
}

function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: "utf8" })
    .filter((path) => path.endsWith(".ts"))
    .map((path) => join(SRC, path));
}

describe("no module-level mutable state in src/", () => {
  it("finds every kind it looks for (the check itself)", () => {
    const text = [
      "let count = 0;",
      "var legacy = 1;",
      "const cache = new Map<string, string>();",
      "export const seen: Set<string> = new Set();",
      "const weak = new WeakMap<object, number>();",
      'const ALLOWED: ReadonlySet<string> = new Set(["a"]);',
      "const NAMES: ReadonlyMap<string, number> = new Map([['a', 1]]);",
      "const LIMIT = 3;",
      "function local() { let n = 0; const m = new Map(); return [n++, m]; }",
      "class Store { private readonly cache = new Map<string, string>(); }",
    ].join("\n");
    expect(moduleStateIn("example.ts", text)).toEqual([
      "example.ts:1 count: a module-level let",
      "example.ts:2 legacy: a module-level var",
      "example.ts:3 cache: a module-level collection not typed Readonly",
      "example.ts:4 seen: a module-level collection not typed Readonly",
      "example.ts:5 weak: a module-level collection not typed Readonly",
    ]);
  });

  it("src/ has none: state is owned by an object made at the composition root or per run", () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((path) => moduleStateIn(relative(SRC, path), readFileSync(path, "utf8")));
    expect(found).toEqual([]);
  });
});
