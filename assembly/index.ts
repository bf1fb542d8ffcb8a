// The rabbit's full WebAssembly module (build/rabbit.wasm, rabbit.debug.wasm): both profiles, and every export of the
// ABI (docs/ABI.md): the VM's entry points (entry.ts), the core (core.ts: MD5, base64, tokenizer, trees, dump), the
// quirk switches, SHA-1 and its kin, the firmware's reader, the test points. The device build (device.ts) has the
// entry points alone. Pointers and lengths are i32 into the static buffers of memory-map.ts; booleans are i32 0/1.

import { hmacSha1 } from "./crypto/hmac";
import { PASSWORD_LENGTH } from "./flash-map";
import { pbkdf2Sha1 } from "./crypto/pbkdf2";
import { sha1, sha1Final, sha1Init, sha1Update } from "./crypto/sha1";
import { quirk, setAllQuirks, setQuirk } from "./quirks";
import { FW_BAD_SLOT, fwReadElement, fwRestEnd, fwRestStart, fwTextLength } from "./xml/firmware-reader";
import { treeSlot, treeSlotValid } from "./xml/tree";
import { SHA1_CONTEXT, DOMAIN, MAC_HEX, PASSWORD, PASSWORD_PENDING, SASL_CHARSET, SASL_CNONCE, SASL_NONCE, SASL_QOP, SASL_REALM, TEST_WRITER, IO_IN, IO_OUT, IO_OUT_CAPACITY } from "./memory-map";
import { decodeReceivedBase64 } from "./rabbit/base64-in";
import { readMac } from "./rabbit/boot";
import { fieldData, fieldLength, fieldSet, fieldSetAscii } from "./util/field";
import { staticWriter } from "./util/writer";
import { plantBug } from "./xmpp/client";
import { generatePassword, writeXoredPassword } from "./xmpp/register";
import { saslForce } from "./xmpp/sasl";
import { scramClientFirst, scramMessage, scramServerFinal, scramServerFirst } from "./xmpp/sasl-scram";
import { appendBase64, buildResponse, expectedRspauth, makeCnonceForTest, plaintext, setCnonce } from "./xmpp/sasl-digest-md5";

export * from "./core";

// ---------------------------------------------------------------------------------------------------------------------
// Quirk switches (quirks.ts numbering).

export function quirk_set(index: i32, on: i32): void {
  setQuirk(index, on != 0);
}

export function quirk_get(index: i32): i32 {
  return quirk(index) ? 1 : 0;
}

export function quirks_set_all(on: i32): void {
  setAllQuirks(on != 0);
}

// ---------------------------------------------------------------------------------------------------------------------
// SHA-1, HMAC-SHA-1, PBKDF2-HMAC-SHA-1 (crypto/). The streaming SHA-1 exports use the module's SHA1_CONTEXT.

export function sha1_init(): void {
  sha1Init(SHA1_CONTEXT);
}

export function sha1_update(pointer: usize, length: i32): void {
  sha1Update(SHA1_CONTEXT, pointer, length);
}

/** Writes the 20-byte digest at `out`. */
export function sha1_final(out: usize): void {
  sha1Final(SHA1_CONTEXT, out);
}

export function sha1_digest(pointer: usize, length: i32, out: usize): void {
  sha1(SHA1_CONTEXT, pointer, length, out);
}

/** HMAC-SHA-1 of the message under the key: 20 bytes at `out`. */
export function hmac_sha1(key: usize, keyLength: i32, message: usize, messageLength: i32, out: usize): void {
  hmacSha1(key, keyLength, message, messageLength, out);
}

/** PBKDF2-HMAC-SHA-1: `outLength` bytes at `out`; `iterations` >= 1. */
export function pbkdf2_sha1(password: usize, passwordLength: i32, salt: usize, saltLength: i32, iterations: i32, out: usize, outLength: i32): void {
  pbkdf2Sha1(password, passwordLength, salt, saltLength, iterations, out, outLength);
}

// ---------------------------------------------------------------------------------------------------------------------
// The firmware's own reader (xml/firmware-reader.ts). Slot numbers index TREE_SLOT_AREA.

/**
 * The firmware's reader on [pointer, pointer + length): 1 element (tree in `slot`, rest in firmware_rest), 2 text
 * item (firmware_text_length), 0 incomplete, -1 attribute syntax the firmware crashed on, -2 too large, -3 a slot
 * outside 0 .. TREE_SLOTS - 1 (nothing read).
 */
export function firmware_read(pointer: usize, length: i32, slot: i32): i32 {
  if (!treeSlotValid(slot)) return FW_BAD_SLOT;
  return fwReadElement(pointer, length, treeSlot(slot));
}

export function firmware_rest_start(): i32 {
  return fwRestStart;
}

export function firmware_rest_end(): i32 {
  return fwRestEnd;
}

export function firmware_text_length(): i32 {
  return fwTextLength;
}

// =====================================================================================================================
// The rabbit: the VM's entry points (entry.ts), and the SASL mechanism the host may force.

export * from "./entry";

/**
 * The SASL mechanism to use whatever the profile and the server's offer: 0 the profile chooses (the default), 1
 * DIGEST-MD5, 2 SCRAM-SHA-1, 3 PLAIN. Set before boot.
 */
export function sasl_force(mechanism: i32): void {
  saslForce(mechanism);
}

// =====================================================================================================================
// Test points: the firmware's routines on given inputs, for the bit-exact vectors.

/**
 * DIGEST-MD5 response for MAC, realm, domain, password, nonce and cnonce, given as six (offset, length) pairs into
 * IO_IN. Writes the plaintext to IO_OUT and returns its length; the response hex is in the
 * plaintext, the rspauth hex at IO_OUT + 1024 (32 bytes).
 */
export function test_digest_md5(mac: i32, macLength: i32, realm: i32, realmLength: i32, domain: i32, domainLength: i32,
  password: i32, passwordLength: i32, nonce: i32, nonceLength: i32, cnonce: i32, cnonceLength: i32): i32 {
  fieldSet(MAC_HEX, IO_IN + <usize>mac, macLength);
  fieldSet(SASL_REALM, IO_IN + <usize>realm, realmLength);
  fieldSet(DOMAIN, IO_IN + <usize>domain, domainLength);
  fieldSet(PASSWORD, IO_IN + <usize>password, passwordLength);
  fieldSet(SASL_NONCE, IO_IN + <usize>nonce, nonceLength);
  setCnonce(IO_IN + <usize>cnonce, cnonceLength);
  fieldSetAscii(SASL_QOP, "auth");
  fieldSetAscii(SASL_CHARSET, "utf-8");
  const length = buildResponse();
  if (length < 0) return length;
  memory.copy(IO_OUT, plaintext(), <usize>length);
  memory.copy(IO_OUT + 1024, fieldData(expectedRspauth()), 32);
  return length;
}

/** Base64 of IO_OUT[0, length) the way the rabbit sends its response, at IO_OUT + 2048; returns its length. */
export function test_response_base64(length: i32): i32 {
  const writer = staticWriter(TEST_WRITER, IO_OUT + 2048, IO_OUT_CAPACITY - 2048);
  appendBase64(writer, IO_OUT, length);
  return writer.overflowed ? -1 : writer.length;
}

/**
 * The registration password for the MAC (6 bytes in IO_IN) at the host's current time: 12 characters at IO_OUT, the
 * wire form (register-xor) at IO_OUT + 16.
 */
export function test_register_password(): void {
  readMac();
  generatePassword();
  memory.copy(IO_OUT, fieldData(PASSWORD_PENDING), PASSWORD_LENGTH);
  writeXoredPassword(IO_OUT + 16);
}

/**
 * Base64 at IO_IN[0, length) decoded as the rabbit decodes what it receives (rabbit/base64-in.ts: its two quirks as
 * set now), at IO_OUT; returns the length or < 0.
 */
export function test_decode_received_base64(length: i32): i32 {
  return decodeReceivedBase64(IO_IN, length, IO_OUT, IO_OUT_CAPACITY);
}

/** Plants a bug on purpose, for the simulator's tests (xmpp/client.ts plantBug): 0 none, 1 no reconnect after a disconnect. */
export function test_plant(bug: i32): void {
  plantBug(bug);
}

/** A cnonce as the rabbit makes it, at IO_OUT; returns its length. */
export function test_cnonce(): i32 {
  makeCnonceForTest();
  memory.copy(IO_OUT, fieldData(SASL_CNONCE), <usize>fieldLength(SASL_CNONCE));
  return fieldLength(SASL_CNONCE);
}

/**
 * SCRAM-SHA-1 client-first for the user at IO_IN[0, userLength), with a nonce from random_bytes: the message at
 * IO_OUT; returns its length.
 */
export function test_scram_first(userLength: i32): i32 {
  const length = scramClientFirst(IO_IN, userLength);
  if (length > 0) memory.copy(IO_OUT, scramMessage(), <usize>length);
  return length;
}

/**
 * SCRAM-SHA-1 client-final for the server-first at IO_IN[0, length) and the password at IO_IN[password,
 * password + passwordLength): the message at IO_OUT; returns its length or a negative SCRAM_* result.
 */
export function test_scram_final(length: i32, password: i32, passwordLength: i32): i32 {
  const result = scramServerFirst(IO_IN, length, IO_IN + <usize>password, passwordLength);
  if (result > 0) memory.copy(IO_OUT, scramMessage(), <usize>result);
  return result;
}

/** SCRAM-SHA-1 server-final at IO_IN[0, length): 0 if the server's signature is right, else a SCRAM_* result. */
export function test_scram_verify(length: i32): i32 {
  return scramServerFinal(IO_IN, length);
}
