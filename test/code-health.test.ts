// Habits the code keeps, checked: no function in assembly/ or host/ longer than 70 lines (TigerBeetle's rule; the
// scanner is scripts/function-lengths.mjs, which also lists the longest ones).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { ROOT } from "./helpers.js";

test("no function in assembly/ or host/ is longer than 70 lines", () => {
  const result = spawnSync(process.execPath, [`${ROOT}scripts/function-lengths.mjs`, "--max", "70", "--top", "5"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /every function is at most 70 lines \(\d+ functions\)/);
});

test("the length scanner sees through type literals, strings, templates and regular expressions", async () => {
  const { functionsOf } = (await import(`${ROOT}scripts/function-lengths.mjs`)) as { functionsOf(text: string): { name: string; lines: number }[] };
  const source = [
    "export function typed(x: number): { a: string; b: number }[] {",
    "  const s = '}}}'; const t = `${'{'}`; const r = /[{]/g;",
    "  return [];",
    "}",
    "class C {",
    "  method(a: string): void {",
    "    if (a) {",
    "      a.trim();",
    "    }",
    "  }",
    "}",
    "const arrow = (n: number) => {",
    "  return n;",
    "};",
  ].join("\n");
  const found = functionsOf(source).map((fn) => `${fn.name}:${fn.lines}`).sort();
  assert.deepEqual(found, ["(arrow):3", "method:5", "typed:4"]);
});
