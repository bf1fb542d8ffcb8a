import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { Core } from "../host/core.js";
import { hex, randomBytes, randomInt, readVectors, seededRandom, vectorPattern } from "./helpers.js";

const vectors = readVectors();
const core = Core.load({}, "debug");
const release = Core.load({}, "release");
const coreOnly = Core.load({}, "core");

test("md5: every vector, firmware and standard digests, in the debug, release and core builds", () => {
  assert.equal(vectors.md5.length, 16);
  for (const v of vectors.md5) {
    const input = vectorPattern(v.length);
    for (const c of [core, release, coreOnly]) {
      assert.equal(hex(c.md5(input, true)), v.firmware, `firmware, length ${v.length}`);
      assert.equal(hex(c.md5(input, false)), v.standard, `standard, length ${v.length}`);
    }
  }
});

test("md5: firmware digest differs exactly where the length bug applies", () => {
  // L mod 64 in 56..63 and L mod 1024 not in 56..63 (spec §11.3).
  for (let length = 0; length <= 2200; length++) {
    const input = vectorPattern(length);
    const buggy = length % 64 >= 56 && !(length % 1024 >= 56 && length % 1024 <= 63);
    const same = hex(release.md5(input, true)) === hex(release.md5(input, false));
    assert.equal(same, !buggy, `length ${length}`);
  }
});

test("md5: agrees with node:crypto for every length 0..4096, whole", () => {
  const random = seededRandom(1);
  for (let length = 0; length <= 4096; length++) {
    const input = randomBytes(random, length);
    const expected = createHash("md5").update(input).digest("hex");
    assert.equal(hex(release.md5(input)), expected, `length ${length}`);
  }
});

test("md5: agrees with node:crypto for every length 0..4096, in random-sized pieces", () => {
  const random = seededRandom(2);
  const e = core.exports;
  for (let length = 0; length <= 4096; length++) {
    const input = randomBytes(random, length);
    e.md5_init();
    for (let at = 0; at < length; ) {
      const size = Math.min(length - at, 1 + randomInt(random, random() < 0.5 ? 8 : 300));
      e.md5_update(core.put(input.subarray(at, at + size)), size);
      at += size;
    }
    e.md5_final(core.output, 0);
    assert.equal(hex(core.read(core.output, 16)), createHash("md5").update(input).digest("hex"), `length ${length}`);
  }
});

test("md5: a zero-length update changes nothing", () => {
  const e = release.exports;
  e.md5_init();
  e.md5_update(release.put(new Uint8Array([0x61])), 1);
  e.md5_update(release.input, 0);
  e.md5_final(release.output, 0);
  assert.equal(hex(release.read(release.output, 16)), createHash("md5").update("a").digest("hex"));
});
