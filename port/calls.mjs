// Call scripts (port/README.md, "Call scripts"): the core vectors and the rabbit vectors as plain lines of export
// calls, made from reference/vectors/firmware-18673.json (and node:crypto for SHA-1, HMAC and PBKDF2, which the
// vectors file does not cover). The C host runs a call script on the module (`rabbit-port calls FILE`); so does
// runCallScript() here, on the Node host's module (host/core.ts, the same build/rabbit.wasm); both write the same
// output format, and port/test.mjs compares the two outputs byte for byte.

import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hex, quote } from "./record.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

function readVectors() {
  return JSON.parse(readFileSync(`${ROOT}reference/vectors/firmware-18673.json`, "utf8"));
}

/** The md5 vectors' input: bytes[i] = (i*7+1) & 0xff. */
function vectorPattern(length) {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + 1) & 0xff);
}

const latin1 = (text) => Buffer.from(text, "latin1");
const hexOf = (text) => latin1(text).toString("hex") || "-";

/** The core's vectors: MD5 (firmware and RFC), base64 (both encoders, both decoders), the VM generator, SHA-1. */
export function coreScript() {
  const v = readVectors();
  const lines = ["# core vectors: reference/vectors/firmware-18673.json (md5, base64_encode, base64_decode, rand) and node:crypto (sha1, hmac, pbkdf2)"];
  for (const m of v.md5) {
    lines.push(`# md5 length ${m.length}`, `put 0 ${hex(vectorPattern(m.length)) || "-"}`);
    lines.push(`call md5_digest in+0 ${m.length} out+0 1`, "read out+0 16", `expect ${m.firmware}`);
    lines.push(`call md5_digest in+0 ${m.length} out+0 0`, "read out+0 16", `expect ${m.standard}`);
    // Streaming, in two pieces: the same digests.
    const half = m.length >> 1;
    lines.push("call md5_init", `call md5_update in+0 ${half}`, `call md5_update in+${half} ${m.length - half}`, "call md5_final out+0 1", "read out+0 16", `expect ${m.firmware}`);
  }
  for (const b of v.base64_encode) {
    const length = b.input_hex.length / 2;
    lines.push(`# base64 encode ${b.input_hex || "(empty)"}`, `put 0 ${b.input_hex || "-"}`);
    lines.push(`call base64_encode in+0 ${length} out+0 out_cap 1`, "read out+0 ret", `expect ${hexOf(b.firmware)}`);
    lines.push(`call base64_encode in+0 ${length} out+0 out_cap 0`, "read out+0 ret", `expect ${hexOf(b.standard)}`);
    lines.push(`put 0 ${hexOf(b.standard)}`, `call base64_decode in+0 ${b.standard.length} out+0 out_cap`, "read out+0 ret", `expect ${b.input_hex || "-"}`);
  }
  for (const b of v.base64_decode) {
    lines.push(`# base64 firmware decode ${JSON.stringify(b.input)}`, `put 0 ${hexOf(b.input)}`);
    lines.push(`call base64_decode_firmware in+0 ${b.input.length} out+0 out_cap`, "read out+0 ret", `expect ${b.firmware_hex}`);
  }
  // Strict decoding's error codes (test/base64.test.ts).
  const errors = [["YW*j", -1], ["YQ=", -2], ["Y===", -2], ["YR==", -2], ["YWJ", -3], ["YWJjZ", -3]];
  for (const [input, code] of errors) {
    lines.push(`# base64 strict decode ${JSON.stringify(input)}`, `put 0 ${hexOf(input)}`, `call base64_decode in+0 ${input.length} out+0 out_cap`, `expect ${code}`);
  }
  for (const r of v.rand) lines.push(`# rand after srand(${r.srand})`, `srand ${r.srand}`, "rand 20", `expect ${r.first_20.join(",")}`);
  const message = latin1("The quick brown fox jumps over the lazy dog");
  const key = latin1("key");
  lines.push("# sha1, hmac-sha1, pbkdf2-sha1 (node:crypto)", `put 0 ${hex(message)}`, `call sha1_digest in+0 ${message.length} out+0`, "read out+0 20",
    `expect ${createHash("sha1").update(message).digest("hex")}`);
  lines.push(`put 0 ${hex(key)}`, `put ${key.length} ${hex(message)}`, `call hmac_sha1 in+0 ${key.length} in+${key.length} ${message.length} out+0`, "read out+0 20",
    `expect ${createHmac("sha1", key).update(message).digest("hex")}`);
  const password = latin1("pencil");
  const salt = Buffer.from("4125c247e43ab1e93c6dff76", "hex");
  lines.push(`put 0 ${hex(password)}`, `put ${password.length} ${hex(salt)}`, `call pbkdf2_sha1 in+0 ${password.length} in+${password.length} ${salt.length} 4096 out+0 20`, "read out+0 20",
    `expect ${pbkdf2Sync(password, salt, 4096, 20, "sha1").toString("hex")}`);
  return `${lines.join("\n")}\n`;
}

/** RFC 2831's response value (test/harness.ts digest()). */
function rfcDigest(inputs, a2Prefix) {
  const md5 = (data) => createHash("md5").update(typeof data === "string" ? latin1(data) : data).digest();
  const x = md5(`${inputs.username}:${inputs.realm}:${inputs.password}`);
  const ha1 = md5(Buffer.concat([x, latin1(`:${inputs.nonce}:${inputs.cnonce}`)])).toString("hex");
  const ha2 = md5(`${a2Prefix}${inputs.digestUri}`).toString("hex");
  return md5(`${ha1}:${inputs.nonce}:00000001:${inputs.cnonce}:auth:${ha2}`).toString("hex");
}

/** The rabbit's test points (test/vectors.test.ts): password, cnonce, DIGEST-MD5 in both profiles. */
export async function rabbitScript() {
  const { QUIRK_NAMES, profileQuirks, quirkIndex } = await import(`${ROOT}build/host/quirks.js`);
  const v = readVectors();
  const lines = ["# rabbit vectors: reference/vectors/firmware-18673.json (password, cnonce, digest_md5) through the test_* exports"];
  const profile = (name) => QUIRK_NAMES.map((quirk) => `call quirk_set ${quirkIndex(quirk)} ${profileQuirks(name)[quirk] ? 1 : 0}`);
  lines.push("# firmware profile", ...profile("firmware"));
  for (const p of v.password) {
    lines.push(`# password ${p.mac} at ${p.time_ms} ms`, `mac ${p.mac}`, `clock ${p.time_ms}`, "call test_register_password");
    lines.push("read out+0 12", `expect ${hexOf(p.password)}`, "read out+16 12", `expect ${hexOf(p.register_wire_password)}`);
  }
  for (const c of v.cnonce) {
    lines.push(`# cnonce after srand(${c.srand}) and ${c.after_draws} draws`, `srand ${c.srand}`, `rand ${c.after_draws}`, "call test_cnonce", "read out+0 ret", `expect ${c.cnonce_hex}`);
  }
  const digest = (inputs) => {
    const parts = [inputs.mac, inputs.realm, inputs.domain, inputs.password, inputs.nonce].map(latin1);
    parts.push(inputs.cnonce);
    const args = [];
    let at = 0;
    for (const part of parts) {
      if (part.length > 0) lines.push(`put ${at} ${hex(part)}`);
      args.push(at, part.length);
      at += part.length;
    }
    lines.push(`call test_digest_md5 ${args.join(" ")}`, "read out+0 ret");
  };
  const cases = [["firmware", "firmware", (d) => d.firmware.firmware_b64], ["standard_same_inputs", "standard_same_inputs", (d) => d.standard_same_inputs.standard_b64]];
  for (const [label, key, b64] of cases) {
    if (label === "standard_same_inputs") lines.push(`call quirk_set ${quirkIndex("md5-length")} 0`, `call quirk_set ${quirkIndex("b64-enc-padding")} 0`);
    for (const d of v.digest_md5) {
      lines.push(`# digest_md5 ${label}: ${d.mac} ${d.nonce}`);
      digest({ ...d, cnonce: Buffer.from(d.cnonce_hex, "hex") });
      lines.push(`expect ${d[key].plaintext_hex}`, "call test_response_base64 ret", "read out+2048 ret", `expect ${hexOf(b64(d))}`);
    }
  }
  // The standard profile against RFC 2831 (test/vectors.test.ts's independent computation): rspauth.
  lines.push("# standard profile", ...profile("standard"));
  const standard = [
    { mac: "0019db01dbd7", realm: "almacska", domain: "almacska", password: "1a2b3c4d5e6f", nonce: "1804289383", cnonce: "3fa2b9e01c77d4a2" },
    { mac: "f81edfee27c1", realm: "", domain: "example.org", password: "0123456789ab", nonce: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", cnonce: "0011223344556677" },
    { mac: "f81edfee27c1", realm: 'a"b', domain: "example.org", password: "0123456789ab", nonce: "x".repeat(90), cnonce: "8899aabbccddeeff" },
  ];
  for (const c of standard) {
    lines.push(`# digest_md5 standard: ${c.mac} ${JSON.stringify(c.realm)} ${c.nonce.slice(0, 20)}`);
    digest({ ...c, cnonce: latin1(c.cnonce) });
    const inputs = { username: c.mac, realm: c.realm, password: c.password, nonce: c.nonce, cnonce: c.cnonce, digestUri: `xmpp/${c.domain}` };
    lines.push("read out+1024 32", `expect ${hexOf(rfcDigest(inputs, ":"))}`, "call test_response_base64 ret", "read out+2048 ret");
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Runs a call script on the Node host's module (build/rabbit.wasm through host/core.ts) with the services the C
 * host's `calls` command gives it, and returns the output.
 */
export async function runCallScript(script) {
  const { Core } = await import(`${ROOT}build/host/core.js`);
  const { VmRandom } = await import(`${ROOT}build/host/vm/random.js`);
  const out = [];
  const state = { clock: 0, mac: new Uint8Array(6), random: new VmRandom() };
  const core = Core.load({
    uartWrite: (bytes) => out.push(`uart ${quote(bytes)}`),
    timeMs: () => state.clock,
    rand: () => state.random.rand(),
    srand: (seed) => state.random.srand(seed),
    randomBytes: (length) => Uint8Array.from({ length }, (_, i) => (i * 37 + 11) & 0xff),
    macAddress: () => state.mac,
    flashRead: () => new Uint8Array(0),
    flashWrite: () => {},
  }, "release");
  const e = core.exports;
  let ret = 0;
  let last = "";
  const value = (word) => {
    if (word === "ret") return ret;
    if (word === "in_cap") return core.inputCapacity;
    if (word === "out_cap") return core.outputCapacity;
    const m = /^(in|out)\+(\d+)$/.exec(word);
    if (m) return (m[1] === "in" ? core.input : core.output) + Number(m[2]);
    if (!/^-?\d+$/.test(word)) throw new Error(`call script: bad argument '${word}'`);
    return Number(word) | 0;
  };
  for (const line of script.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const [command, ...words] = line.split(" ");
    switch (command) {
      case "mac":
        state.mac = Uint8Array.from(Buffer.from(words[0], "hex"));
        break;
      case "clock":
        state.clock = value(words[0]);
        break;
      case "srand":
        state.random.srand(value(words[0]));
        break;
      case "rand": {
        const draws = Array.from({ length: value(words[0]) }, () => state.random.rand());
        last = draws.join(",") || "-";
        out.push(`rand ${last}`);
        break;
      }
      case "put":
        if (words[1] !== "-") core.bytes.set(Buffer.from(words[1], "hex"), core.input + value(words[0]));
        break;
      case "call": {
        const [name, ...args] = words;
        if (typeof e[name] !== "function") throw new Error(`call script: no export '${name}'`);
        const result = e[name](...args.map(value));
        if (result === undefined) {
          last = "-";
          out.push(`call ${name}`);
        } else {
          ret = result | 0;
          last = String(ret);
          out.push(`call ${name} -> ${ret}`);
        }
        break;
      }
      case "read": {
        const pointer = value(words[0]);
        last = hex(core.bytes.subarray(pointer, pointer + value(words[1]))) || "-";
        out.push(`read ${last}`);
        break;
      }
      case "expect":
        out.push(words[0] === last ? "expect ok" : `expect FAIL want ${words[0]} got ${last}`);
        break;
      default:
        throw new Error(`call script: unknown command '${command}'`);
    }
  }
  return `${out.join("\n")}\n`;
}
