// The reference copies are the founding files, unchanged: SHA256SUMS was taken from the originals in ../shared.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { referencePath } from "./helpers.js";

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
