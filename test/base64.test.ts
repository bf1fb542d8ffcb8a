import assert from "node:assert/strict";
import { test } from "node:test";
import { BASE64_ERRORS, Core } from "../host/core.js";
import { quirkIndex } from "../host/quirks.js";
import { hex, randomBytes, readVectors, seededRandom } from "./helpers.js";

const vectors = readVectors();
const core = Core.load({}, "debug");
/** The debug build, and the core built alone (build/core.wasm). */
const builds = [core, Core.load({}, "core")];

test("base64: every encode vector, firmware and standard, in the debug and core builds", () => {
  assert.equal(vectors.base64_encode.length, 7);
  for (const v of vectors.base64_encode) {
    const input = Buffer.from(v.input_hex, "hex");
    for (const c of builds) {
      assert.equal(c.base64Encode(input, true), v.firmware, `firmware ${v.input_hex}`);
      assert.equal(c.base64Encode(input, false), v.standard, `standard ${v.input_hex}`);
    }
  }
});

test("base64: every firmware decode vector, in the debug and core builds", () => {
  assert.equal(vectors.base64_decode.length, 5);
  for (const v of vectors.base64_decode) {
    for (const c of builds) assert.equal(hex(c.base64DecodeFirmware(v.input)), v.firmware_hex, JSON.stringify(v.input));
  }
});

test("base64: standard encode/decode round-trips and matches Node for random data", () => {
  const random = seededRandom(3);
  for (let length = 0; length < 600; length++) {
    const data = randomBytes(random, length);
    const encoded = core.base64Encode(data);
    assert.equal(encoded, Buffer.from(data).toString("base64"));
    const decoded = core.base64Decode(encoded);
    assert.ok(decoded instanceof Uint8Array);
    assert.deepEqual(decoded, data);
  }
});

test("base64: strict decode skips whitespace without losing alignment", () => {
  assert.equal(Buffer.from(core.base64Decode("YWJj\nZGVm") as Uint8Array).toString(), "abcdef");
  assert.equal(Buffer.from(core.base64Decode(" Y W J j Z A = = ") as Uint8Array).toString(), "abcd");
});

test("base64: strict decode rejects bad input with a clear error code", () => {
  const cases: [string, string][] = [
    ["YW*j", "bad character"],
    ["YWJj\0", "bad character"],
    ["YQ=", "bad padding"],
    ["Y===", "bad padding"],
    ["YQ==YQ==", "bad padding"],
    ["=YWJ", "bad padding"],
    ["YR==", "bad padding"], // non-zero bits under the padding
    ["YWK=", "bad padding"], // the same under a single '='
    ["YWI=", ""], // (a control: its bits under '=' are zero)
    ["YWJ", "bad length"],
    ["YWJjZ", "bad length"],
  ];
  for (const [input, error] of cases) {
    const result = core.base64Decode(input);
    if (error === "") {
      assert.equal(Buffer.from(result as Uint8Array).toString("latin1"), "ab");
      continue;
    }
    assert.equal(typeof result, "number", JSON.stringify(input));
    assert.equal(BASE64_ERRORS[result as number], error, JSON.stringify(input));
  }
});

test("base64: the firmware decoder keeps one NUL per '=' and counts skipped characters in the phase", () => {
  // One NUL per '=': "YQ==" is 3 bytes.
  assert.equal(hex(core.base64DecodeFirmware("YQ==")), "610000");
  // The seed's challenge decodes to its 109 bytes plus 2 NULs.
  const challenge = "cmVhbG09ImFsbWFjc2thIixub25jZT0iemF2b3FHS0VaWnBpRWlUZldNV2RMNktCK0ZkcFdqdk5oODMwQ2xFZiIscW9wPSJhdXRoIixjaGFyc2V0PXV0Zi04LGFsZ29yaXRobT1tZDUtc2Vzcw==";
  const decoded = core.base64DecodeFirmware(challenge);
  assert.equal(decoded.length, 111);
  assert.equal(Buffer.from(decoded.subarray(0, 109)).toString("latin1"), Buffer.from(challenge, "base64").toString("latin1"));
  assert.deepEqual([...decoded.subarray(109)], [0, 0]);
});

test("base64 as the rabbit receives it: b64-dec-nul and b64-dec-phase are two independent switches", () => {
  const rabbit = Core.load({}, "debug");
  const e = rabbit.exports;
  const nul = quirkIndex("b64-dec-nul");
  const phase = quirkIndex("b64-dec-phase");
  const decode = (text: string, nulOn: boolean, phaseOn: boolean) => {
    e.quirk_set(nul, nulOn ? 1 : 0);
    e.quirk_set(phase, phaseOn ? 1 : 0);
    const source = Buffer.from(text, "latin1");
    rabbit.put(source);
    const length = e.test_decode_received_base64(source.length);
    return length < 0 ? length : hex(rabbit.read(rabbit.output, length));
  };
  // "YQ==": one NUL per '=' only with b64-dec-nul.
  assert.equal(decode("YQ==", true, true), "610000");
  assert.equal(decode("YQ==", true, false), "610000");
  assert.equal(decode("YQ==", false, true), "61");
  assert.equal(decode("YQ==", false, false), "61");
  // A newline inside: with b64-dec-phase it shifts the phase (the firmware's garbled bytes), without it not.
  assert.equal(decode("YWJj\nZGVm", true, true), "616263639195");
  assert.equal(decode("YWJj\nZGVm", false, true), "616263639195");
  assert.equal(decode("YWJj\nZGVm", true, false), "616263646566");
  assert.equal(decode("YWJj\nZGVm", false, false), "616263646566");
});
