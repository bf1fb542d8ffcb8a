// The firmware's routines against the bit-exact vectors (password, cnonce, DIGEST-MD5, rand), and the standard
// profile's DIGEST-MD5 against an independent RFC 2831 computation.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Core } from "../host/core.js";
import { profileQuirks, quirkIndex } from "../host/quirks.js";
import { VmRandom } from "../host/vm/random.js";
import { digest, parseDirectives } from "./harness.js";
import { hex, readVectors } from "./helpers.js";

const vectors = readVectors();

test("rand: the VM generator gives every vector's first 20 draws", () => {
  assert.equal(vectors.rand.length, 5);
  for (const v of vectors.rand) {
    const random = new VmRandom();
    random.srand(v.srand);
    assert.deepEqual(Array.from({ length: 20 }, () => random.rand()), v.first_20, `srand(${v.srand})`);
  }
});

/** A core whose VM services are a generator, a clock and a MAC the test sets. */
function coreWith(random: VmRandom, clock: { now: number }, mac: { bytes: Uint8Array }, profile: "firmware" | "standard" = "firmware"): Core {
  const core = Core.load({
    rand: () => random.rand(),
    srand: (seed) => random.srand(seed),
    timeMs: () => clock.now,
    macAddress: () => mac.bytes,
    randomBytes: (length) => new Uint8Array(length).map((_, i) => (i * 37 + 11) & 0xff),
  }, "debug");
  for (const [name, on] of Object.entries(profileQuirks(profile))) core.exports.quirk_set(quirkIndex(name), on ? 1 : 0);
  return core;
}

test("password: every vector, and its XORed registration form", () => {
  assert.equal(vectors.password.length, 3);
  const random = new VmRandom();
  const clock = { now: 0 };
  const mac = { bytes: new Uint8Array(6) };
  const core = coreWith(random, clock, mac);
  for (const v of vectors.password) {
    clock.now = v.time_ms;
    mac.bytes = Uint8Array.from(Buffer.from(v.mac, "hex"));
    core.exports.test_register_password();
    assert.equal(Buffer.from(core.read(core.output, 12)).toString("latin1"), v.password, `${v.mac} at ${v.time_ms}`);
    assert.equal(Buffer.from(core.read(core.output + 16, 12)).toString("latin1"), v.register_wire_password);
  }
});

test("cnonce: every vector (13 digits from the VM generator and a NUL)", () => {
  assert.equal(vectors.cnonce.length, 2);
  const random = new VmRandom();
  const core = coreWith(random, { now: 0 }, { bytes: new Uint8Array(6) });
  for (const v of vectors.cnonce) {
    random.srand(v.srand);
    for (let i = 0; i < v.after_draws; i++) random.rand();
    const length = core.exports.test_cnonce();
    assert.equal(hex(core.read(core.output, length)), v.cnonce_hex, `srand(${v.srand}) after ${v.after_draws}`);
  }
});

function runDigest(core: Core, inputs: { mac: string; realm: string; domain: string; password: string; nonce: string; cnonce: Buffer }) {
  const parts: Uint8Array[] = [inputs.mac, inputs.realm, inputs.domain, inputs.password, inputs.nonce].map((s) => Buffer.from(s, "latin1"));
  parts.push(inputs.cnonce);
  const offsets: number[] = [];
  let at = 0;
  for (const part of parts) {
    core.put(part, at);
    offsets.push(at, part.length);
    at += part.length;
  }
  const e = core.exports;
  const length = e.test_digest_md5(...(offsets as [number, number, number, number, number, number, number, number, number, number, number, number]));
  assert.ok(length > 0);
  const plaintext = Buffer.from(core.read(core.output, length));
  const b64Length = e.test_response_base64(length);
  const base64 = Buffer.from(core.read(core.output + 2048, b64Length)).toString("latin1");
  return { plaintext, base64, rspauth: Buffer.from(core.read(core.output + 1024, 32)).toString("latin1") };
}

test("digest_md5: every vector in the firmware profile (response, plaintext, short base64)", () => {
  assert.equal(vectors.digest_md5.length, 3);
  const core = coreWith(new VmRandom(), { now: 0 }, { bytes: new Uint8Array(6) });
  for (const v of vectors.digest_md5) {
    const result = runDigest(core, { ...v, cnonce: Buffer.from(v.cnonce_hex, "hex") });
    assert.equal(result.plaintext.toString("hex"), v.firmware.plaintext_hex, `${v.mac} ${v.nonce}`);
    assert.equal(parseDirectives(result.plaintext.toString("latin1")).response, v.firmware.response);
    assert.equal(result.base64, v.firmware.firmware_b64);
  }
});

test("digest_md5 vectors with RFC MD5 and padding: the standard_same_inputs values", () => {
  const core = coreWith(new VmRandom(), { now: 0 }, { bytes: new Uint8Array(6) });
  core.exports.quirk_set(quirkIndex("md5-length"), 0);
  core.exports.quirk_set(quirkIndex("b64-enc-padding"), 0);
  for (const v of vectors.digest_md5) {
    const result = runDigest(core, { ...v, cnonce: Buffer.from(v.cnonce_hex, "hex") });
    assert.equal(result.plaintext.toString("hex"), v.standard_same_inputs.plaintext_hex);
    assert.equal(result.base64, v.standard_same_inputs.standard_b64);
  }
});

test("standard profile: the response and rspauth agree with an independent RFC 2831 computation", () => {
  const core = coreWith(new VmRandom(), { now: 0 }, { bytes: new Uint8Array(6) }, "standard");
  const cases = [
    { mac: "0019db01dbd7", realm: "almacska", domain: "almacska", password: "1a2b3c4d5e6f", nonce: "1804289383", cnonce: "3fa2b9e01c77d4a2" },
    // Lengths where the firmware's MD5 goes wrong (nonce of 25..32 characters): the standard profile must not.
    { mac: "f81edfee27c1", realm: "", domain: "example.org", password: "0123456789ab", nonce: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", cnonce: "0011223344556677" },
    { mac: "f81edfee27c1", realm: "a\"b", domain: "example.org", password: "0123456789ab", nonce: "x".repeat(90), cnonce: "8899aabbccddeeff" },
  ];
  for (const c of cases) {
    const result = runDigest(core, { ...c, cnonce: Buffer.from(c.cnonce, "latin1") });
    const text = result.plaintext.toString("latin1");
    const inputs = { username: c.mac, realm: c.realm, password: c.password, nonce: c.nonce, cnonce: c.cnonce, digestUri: `xmpp/${c.domain}` };
    assert.match(text, new RegExp(`response=${digest(inputs, "AUTHENTICATE:")}`));
    assert.equal(result.rspauth, digest(inputs, ":"));
    assert.equal(result.base64, result.plaintext.toString("base64"), "RFC 4648 padding");
    assert.ok(!text.includes("\0"));
    if (c.realm.includes("\"")) assert.ok(text.includes("realm=\"a\\\"b\""), "quoted-string escapes");
    if (c.realm === "") assert.ok(!text.includes("realm="), "no realm directive without a realm");
  }
});
