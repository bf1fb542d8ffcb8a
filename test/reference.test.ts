// The reference copies are the founding files, unchanged.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { ROOT, referencePath } from "./helpers.js";

const sums = readFileSync(referencePath("SHA256SUMS"), "utf8").trim().split("\n").map((line) => {
  const [hash, file] = line.split(/\s+/);
  return { hash: hash!, file: file! };
});

test("reference files match their pinned SHA-256", () => {
  assert.equal(sums.length, 2);
  for (const { hash, file } of sums) {
    assert.equal(createHash("sha256").update(readFileSync(referencePath(file))).digest("hex"), hash, file);
  }
});

test("reference files are byte-identical to ../shared where the workspace has it", () => {
  const shared = `${ROOT}../shared/`;
  for (const { file } of sums) {
    const original = `${shared}${file}`;
    // On a clean clone without the workspace, the pinned hashes above are the check.
    if (!existsSync(original)) continue;
    assert.deepEqual(readFileSync(referencePath(file)), readFileSync(original), file);
  }
});
