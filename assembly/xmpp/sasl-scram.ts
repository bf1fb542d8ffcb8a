// SASL SCRAM-SHA-1 (RFC 5802), the client side, without channel binding (gs2 header "n,,"):
//   client-first  n,,n=<saslname>,r=<client nonce>
//   server-first  r=<client nonce + server nonce>,s=<salt, base64>,i=<iterations>
//   client-final  c=biws,r=<nonce>,p=<ClientKey XOR HMAC(StoredKey, AuthMessage), base64>
//   server-final  v=<HMAC(ServerKey, AuthMessage), base64>, or e=<error>
// with SaltedPassword = PBKDF2-HMAC-SHA-1(password, salt, iterations), ClientKey = HMAC(SaltedPassword, "Client Key"),
// StoredKey = SHA-1(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key"). The client nonce is 18 bytes from the
// host's secure random source. Messages are built and parsed as bytes here; the caller moves them in and out of base64.
// Keys are wiped as soon as they have served.

import {
  SHA1_CONTEXT,
  SCRAM_AUTH_MESSAGE,
  SCRAM_AUTH_MESSAGE_CAPACITY,
  SCRAM_ITERATIONS_MAX,
  SCRAM_KEYS,
  SCRAM_LITERAL,
  SCRAM_MESSAGE,
  SCRAM_MESSAGE_CAPACITY,
  SCRAM_NONCE,
  SCRAM_NONCE_RANDOM_BYTES,
  SCRAM_RECEIVED,
  SCRAM_SALT,
  SCRAM_SALT_CAPACITY,
  SCRAM_WRITER,
} from "../memory-map";
import { base64Decode } from "../codec/base64";
import { hmacSha1 } from "../crypto/hmac";
import { pbkdf2Sha1 } from "../crypto/pbkdf2";
import { sha1 } from "../crypto/sha1";
import { log } from "../rabbit/report";
import { bytesStartWithAscii, indexOfByte, writeAscii } from "../util/bytes";
import { fieldClear, fieldData, fieldLength } from "../util/field";
import { staticWriter, Writer } from "../util/writer";
import { random_bytes } from "../vm/host";

/** Results (negative: the exchange cannot go on; each reason is also logged). */
export const SCRAM_OK: i32 = 0;
export const SCRAM_SYNTAX: i32 = -1; //           not a SCRAM message
export const SCRAM_NONCE_MISMATCH: i32 = -2; //   the server's nonce does not extend ours
export const SCRAM_BAD_SALT: i32 = -3; //         salt missing, not base64, or too long
export const SCRAM_BAD_ITERATIONS: i32 = -4; //   not a number in 1..SCRAM_ITERATIONS_MAX
export const SCRAM_EXTENSION: i32 = -5; //        a mandatory extension (m=) we do not know
export const SCRAM_TOO_LONG: i32 = -6; //         a message longer than its buffer
export const SCRAM_SERVER_ERROR: i32 = -7; //     the server said e=...
export const SCRAM_BAD_SIGNATURE: i32 = -8; //    the server's signature is wrong: it does not know the password
export const SCRAM_OUT_OF_ORDER: i32 = -9; //     a step without the one before

const KEY_LENGTH: i32 = 20;
const SALTED_PASSWORD: usize = SCRAM_KEYS;
const CLIENT_KEY: usize = SCRAM_KEYS + 20;
const STORED_KEY: usize = SCRAM_KEYS + 40;
const CLIENT_PROOF: usize = SCRAM_KEYS + 60;
const SERVER_KEY: usize = SCRAM_KEYS + 80;
const SERVER_SIGNATURE: usize = SCRAM_KEYS + 100;

const STEP_IDLE = 0;
const STEP_SENT_FIRST = 1; //  client-first sent, waiting for server-first
const STEP_SENT_FINAL = 2; //  client-final sent, waiting for server-final
const STEP_VERIFIED = 3; //    the server's signature checked out

let step = STEP_IDLE;
/** Bytes of SCRAM_AUTH_MESSAGE in use, and of the decoded salt in SCRAM_SALT. */
let authLength = 0;
let saltLength = 0;

export function scramClear(): void {
  step = STEP_IDLE;
  authLength = 0;
  fieldClear(SCRAM_NONCE);
  memory.fill(SCRAM_KEYS, 0, 6 * KEY_LENGTH);
}

/** Whether the server has proved it knows the password (server-final checked). */
export function scramVerified(): bool {
  return step == STEP_VERIFIED;
}

/**
 * The client-first message for `user`, with a fresh nonce, into SCRAM_MESSAGE: its length, or a negative result.
 * Starts the AuthMessage with client-first-bare.
 */
export function scramClientFirst(user: usize, userLength: i32): i32 {
  scramClear();
  makeNonce();
  const bare = staticWriter(SCRAM_WRITER, SCRAM_AUTH_MESSAGE, SCRAM_AUTH_MESSAGE_CAPACITY);
  bare.ascii("n=");
  saslname(bare, user, userLength);
  bare.ascii(",r=");
  bare.bytes(fieldData(SCRAM_NONCE), fieldLength(SCRAM_NONCE));
  if (bare.overflowed) return fail(SCRAM_TOO_LONG);
  authLength = bare.length;
  if (authLength + 3 > SCRAM_MESSAGE_CAPACITY) return fail(SCRAM_TOO_LONG);
  writeAscii(SCRAM_MESSAGE, "n,,");
  memory.copy(SCRAM_MESSAGE + 3, SCRAM_AUTH_MESSAGE, <usize>authLength);
  step = STEP_SENT_FIRST;
  return authLength + 3;
}

/**
 * The server-first message (decoded, at `message`): checks it, derives the keys from the password, and writes the
 * client-final message into SCRAM_MESSAGE. Its length, or a negative result.
 */
export function scramServerFirst(message: usize, length: i32, password: usize, passwordLength: i32): i32 {
  if (step != STEP_SENT_FIRST) return fail(SCRAM_OUT_OF_ORDER);
  // AuthMessage += "," server-first; the message is then parsed where it lies.
  if (authLength + 1 + length > SCRAM_AUTH_MESSAGE_CAPACITY) return fail(SCRAM_TOO_LONG);
  store<u8>(SCRAM_AUTH_MESSAGE + <usize>authLength, 0x2c);
  const first = SCRAM_AUTH_MESSAGE + <usize>authLength + 1;
  memory.copy(first, message, <usize>length);
  authLength += 1 + length;

  if (bytesStartWithAscii(first, length, "m=")) return fail(SCRAM_EXTENSION);
  // r=nonce
  if (!bytesStartWithAscii(first, length, "r=")) return fail(SCRAM_SYNTAX);
  const nonceStart = 2;
  const nonceEnd = indexOfByte(first, length, 0x2c, nonceStart);
  if (nonceEnd < 0) return fail(SCRAM_SYNTAX);
  const nonceLength = nonceEnd - nonceStart;
  const ours = fieldLength(SCRAM_NONCE);
  if (nonceLength <= ours || !printable(first + <usize>nonceStart, nonceLength)) return fail(SCRAM_NONCE_MISMATCH);
  if (memory.compare(first + <usize>nonceStart, fieldData(SCRAM_NONCE), <usize>ours) != 0) return fail(SCRAM_NONCE_MISMATCH);
  // s=salt
  const saltStart = nonceEnd + 1;
  if (!bytesStartWithAscii(first + <usize>saltStart, length - saltStart, "s=")) return fail(SCRAM_SYNTAX);
  const saltEnd = indexOfByte(first, length, 0x2c, saltStart + 2);
  if (saltEnd < 0) return fail(SCRAM_SYNTAX);
  saltLength = base64Decode(first + <usize>(saltStart + 2), saltEnd - saltStart - 2, SCRAM_SALT, SCRAM_SALT_CAPACITY);
  if (saltLength <= 0) return fail(SCRAM_BAD_SALT);
  // i=iterations, then optional extensions
  const countStart = saltEnd + 1;
  if (!bytesStartWithAscii(first + <usize>countStart, length - countStart, "i=")) return fail(SCRAM_SYNTAX);
  let countEnd = indexOfByte(first, length, 0x2c, countStart + 2);
  if (countEnd < 0) countEnd = length;
  const iterations = parseCount(first + <usize>(countStart + 2), countEnd - countStart - 2);
  if (iterations < 1) return fail(SCRAM_BAD_ITERATIONS);

  // client-final-without-proof, both into the AuthMessage and as the start of the message to send.
  const final = staticWriter(SCRAM_WRITER, SCRAM_MESSAGE, SCRAM_MESSAGE_CAPACITY);
  final.ascii("c=biws,r=");
  final.bytes(first + <usize>nonceStart, nonceLength);
  if (final.overflowed || authLength + 1 + final.length > SCRAM_AUTH_MESSAGE_CAPACITY) return fail(SCRAM_TOO_LONG);
  store<u8>(SCRAM_AUTH_MESSAGE + <usize>authLength, 0x2c);
  memory.copy(SCRAM_AUTH_MESSAGE + <usize>authLength + 1, SCRAM_MESSAGE, <usize>final.length);
  authLength += 1 + final.length;

  deriveKeys(password, passwordLength, iterations);
  final.ascii(",p=");
  final.base64(CLIENT_PROOF, KEY_LENGTH);
  if (final.overflowed) return fail(SCRAM_TOO_LONG);
  step = STEP_SENT_FINAL;
  return final.length;
}

/** The server-final message (decoded): SCRAM_OK if the server's signature is the one we expect. */
export function scramServerFinal(message: usize, length: i32): i32 {
  if (step != STEP_SENT_FINAL) return fail(SCRAM_OUT_OF_ORDER);
  if (bytesStartWithAscii(message, length, "e=")) return fail(SCRAM_SERVER_ERROR);
  if (!bytesStartWithAscii(message, length, "v=")) return fail(SCRAM_SYNTAX);
  let end = indexOfByte(message, length, 0x2c, 2);
  if (end < 0) end = length;
  const received = base64Decode(message + 2, end - 2, SCRAM_RECEIVED, 32);
  // Compared without an early exit: the time taken says nothing about where a forged signature first differs.
  let difference = received == KEY_LENGTH ? 0 : 1;
  for (let i = 0; i < KEY_LENGTH; i++) difference |= <i32>(load<u8>(SCRAM_RECEIVED + i) ^ load<u8>(SERVER_SIGNATURE + i));
  if (difference != 0) return fail(SCRAM_BAD_SIGNATURE);
  step = STEP_VERIFIED;
  memory.fill(SCRAM_KEYS, 0, 6 * KEY_LENGTH);
  return SCRAM_OK;
}

/** The last message built (tests read it; the SASL layer sends it). */
export function scramMessage(): usize {
  return SCRAM_MESSAGE;
}

// ---------------------------------------------------------------------------------------------------------------------

function deriveKeys(password: usize, passwordLength: i32, iterations: i32): void {
  pbkdf2Sha1(password, passwordLength, SCRAM_SALT, saltLength, iterations, SALTED_PASSWORD, KEY_LENGTH);
  hmacSha1(SALTED_PASSWORD, KEY_LENGTH, SCRAM_LITERAL, writeAscii(SCRAM_LITERAL, "Client Key"), CLIENT_KEY);
  sha1(SHA1_CONTEXT, CLIENT_KEY, KEY_LENGTH, STORED_KEY);
  hmacSha1(STORED_KEY, KEY_LENGTH, SCRAM_AUTH_MESSAGE, authLength, CLIENT_PROOF);
  for (let i = 0; i < KEY_LENGTH; i++) store<u8>(CLIENT_PROOF + i, load<u8>(CLIENT_PROOF + i) ^ load<u8>(CLIENT_KEY + i));
  hmacSha1(SALTED_PASSWORD, KEY_LENGTH, SCRAM_LITERAL, writeAscii(SCRAM_LITERAL, "Server Key"), SERVER_KEY);
  hmacSha1(SERVER_KEY, KEY_LENGTH, SCRAM_AUTH_MESSAGE, authLength, SERVER_SIGNATURE);
  memory.fill(SALTED_PASSWORD, 0, <usize>(3 * KEY_LENGTH)); // SaltedPassword, ClientKey, StoredKey: done with
  memory.fill(SERVER_KEY, 0, <usize>KEY_LENGTH);
}

/** 18 random bytes from the host, in base64: 24 printable characters, never ','. */
function makeNonce(): void {
  random_bytes(SCRAM_RECEIVED, SCRAM_NONCE_RANDOM_BYTES);
  const nonce = staticWriter(SCRAM_WRITER, fieldData(SCRAM_NONCE), 32);
  nonce.base64(SCRAM_RECEIVED, SCRAM_NONCE_RANDOM_BYTES);
  store<i32>(SCRAM_NONCE, nonce.length);
  memory.fill(SCRAM_RECEIVED, 0, 32);
}

/** RFC 5802 saslname: ',' and '=' are written =2C and =3D. */
function saslname(writer: Writer, user: usize, length: i32): void {
  for (let i = 0; i < length; i++) {
    const c = <i32>load<u8>(user + i);
    if (c == 0x2c) writer.ascii("=2C");
    else if (c == 0x3d) writer.ascii("=3D");
    else writer.byte(c);
  }
}

/** RFC 5802 printable: 0x21..0x7E except ','. */
function printable(pointer: usize, length: i32): bool {
  for (let i = 0; i < length; i++) {
    const c = <i32>load<u8>(pointer + i);
    if (c < 0x21 || c > 0x7e || c == 0x2c) return false;
  }
  return true;
}

/** A positive decimal within SCRAM_ITERATIONS_MAX, or -1. */
function parseCount(pointer: usize, length: i32): i32 {
  if (length < 1 || length > 9) return -1;
  let value = 0;
  for (let i = 0; i < length; i++) {
    const digit = <i32>load<u8>(pointer + i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value >= 1 && value <= SCRAM_ITERATIONS_MAX ? value : -1;
}

/** Logs why the exchange stops, forgets it, and returns `result`. */
function fail(result: i32): i32 {
  if (result == SCRAM_SYNTAX) log("SCRAM: the server's message is not SCRAM");
  else if (result == SCRAM_NONCE_MISMATCH) log("SCRAM: the server's nonce does not extend ours");
  else if (result == SCRAM_BAD_SALT) log("SCRAM: bad salt");
  else if (result == SCRAM_BAD_ITERATIONS) log("SCRAM: iteration count missing or above the bound");
  else if (result == SCRAM_EXTENSION) log("SCRAM: the server requires an extension");
  else if (result == SCRAM_TOO_LONG) log("SCRAM: message too long");
  else if (result == SCRAM_SERVER_ERROR) log("SCRAM: the server refused the proof");
  else if (result == SCRAM_BAD_SIGNATURE) log("SCRAM: wrong server signature: the server does not know the password");
  else log("SCRAM: unexpected step");
  scramClear();
  return result;
}
