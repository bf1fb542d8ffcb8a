// SHA-1, HMAC-SHA-1 and PBKDF2-HMAC-SHA-1 in the module agree with node:crypto.

import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { test } from "node:test";
import { Core } from "../host/core.js";
import { hex, randomBytes, randomInt, seededRandom } from "./helpers.js";

const debug = Core.load({}, "debug");
const release = Core.load({}, "release");

test("sha1: agrees with node:crypto for every length 0..4096, whole, both builds", () => {
  const random = seededRandom(11);
  for (let length = 0; length <= 4096; length++) {
    const input = randomBytes(random, length);
    const expected = createHash("sha1").update(input).digest("hex");
    assert.equal(hex(release.sha1(input)), expected, `length ${length}`);
    if (length % 7 === 0) assert.equal(hex(debug.sha1(input)), expected, `debug, length ${length}`);
  }
});

test("sha1: agrees with node:crypto for every length 0..4096, in random-sized pieces", () => {
  const random = seededRandom(12);
  const e = debug.exports;
  for (let length = 0; length <= 4096; length++) {
    const input = randomBytes(random, length);
    e.sha1_init();
    for (let at = 0; at < length; ) {
      const size = Math.min(length - at, randomInt(random, random() < 0.5 ? 8 : 300)); // zero-sized pieces too
      e.sha1_update(debug.put(input.subarray(at, at + size)), size);
      at += size;
    }
    e.sha1_final(debug.output);
    assert.equal(hex(debug.read(debug.output, 20)), createHash("sha1").update(input).digest("hex"), `length ${length}`);
  }
});

test("sha1: more than the input buffer, fed in pieces (1 MiB)", () => {
  const input = randomBytes(seededRandom(13), 1 << 20);
  assert.equal(hex(release.sha1(input)), createHash("sha1").update(input).digest("hex"));
});

test("hmac-sha1: keys shorter than, as long as and longer than the block, messages of every length 0..4096", () => {
  const random = seededRandom(14);
  const keyLengths = [0, 1, 12, 20, 63, 64, 65, 100, 200];
  for (let length = 0; length <= 4096; length++) {
    const keyLength = keyLengths[length % keyLengths.length]!;
    const key = randomBytes(random, keyLength);
    const message = randomBytes(random, length);
    const expected = createHmac("sha1", key).update(message).digest("hex");
    assert.equal(hex(release.hmacSha1(key, message)), expected, `key ${keyLength}, message ${length}`);
  }
});

test("pbkdf2-hmac-sha1: iteration counts 1, 2, 4096 and 100,000; derived keys shorter and longer than one block", () => {
  const random = seededRandom(15);
  const cases: [number, number][] = [[1, 20], [2, 20], [4096, 20], [1, 1], [2, 32], [3, 64], [4096, 25], [100_000, 20]];
  for (const [iterations, length] of cases) {
    const password = randomBytes(random, 1 + randomInt(random, 80));
    const salt = randomBytes(random, 1 + randomInt(random, 40));
    const expected = pbkdf2Sync(password, salt, iterations, length, "sha1").toString("hex");
    assert.equal(hex(release.pbkdf2Sha1(password, salt, iterations, length)), expected, `${iterations} iterations, ${length} bytes`);
  }
  // RFC 6070's first vectors.
  const ascii = (text: string) => Buffer.from(text, "latin1");
  assert.equal(hex(debug.pbkdf2Sha1(ascii("password"), ascii("salt"), 1, 20)), "0c60c80f961f0e71f3a9b524af6012062fe037a6");
  assert.equal(hex(debug.pbkdf2Sha1(ascii("password"), ascii("salt"), 4096, 20)), "4b007901b765489abead49d926f721d065a429c1");
});
