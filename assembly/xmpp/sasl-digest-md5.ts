// SASL DIGEST-MD5 (RFC 2831; spec §7), the firmware's only mechanism: the challenge, the response, the rspauth round.
//
// The firmware's way (quirks): the challenge is decoded by its base64 decoder (a NUL per '='), split at ',' into
// key=value with "quoted" or bare values kept raw, and must say exactly algorithm=md5-sess, qop=auth, charset=utf-8
// (challenge-strict); the cnonce is 13 digits from the VM generator (cnonce-lcg) followed by a NUL (cnonce-nul);
// digests use its MD5 (md5-length) and the response its base64 (b64-enc-padding); a bad challenge or rspauth gets no
// answer (sasl-silent). The RFC's way: directive lists with whitespace and escapes, qop a list that must hold "auth",
// the realm the domain if offered, a random cnonce, <abort/> when something is wrong.

import {
  DOMAIN,
  MAC_HEX,
  PASSWORD,
  SASL_ALGORITHM,
  SASL_CHARSET,
  SASL_CNONCE,
  SASL_DIGEST,
  SASL_HA1,
  SASL_HA2,
  SASL_HEX,
  SASL_NONCE,
  SASL_PLAIN_WRITER,
  SASL_QOP,
  SASL_REALM,
  SASL_RECEIVED_RSPAUTH,
  SASL_RECEIVED_RSPAUTH_CAPACITY,
  SASL_RSPAUTH,
  SCRATCH,
  SCRATCH_CAPACITY,
} from "../memory-map";
import { decodeReceivedBase64 } from "../rabbit/base64-in";
import { md5Final, md5Init, md5Update } from "../crypto/md5";
import {
  quirk,
  QUIRK_B64_ENC_PADDING,
  QUIRK_CHALLENGE_STRICT,
  QUIRK_CNONCE_LCG,
  QUIRK_CNONCE_NUL,
  QUIRK_MD5_LENGTH,
} from "../quirks";
import { Ascii, asciiData, asciiLength, bytesEqualAscii, writeHex } from "../util/bytes";
import { fieldClear, fieldData, fieldEquals, fieldLength, fieldSet, fieldSetAscii } from "../util/field";
import { Writer } from "../util/writer";
import { rand, random_bytes } from "../vm/host";
import { begin, end } from "./output";
import { CHALLENGE_ANSWERED, CHALLENGE_BAD, CHALLENGE_BAD_PROOF, CHALLENGE_VERIFIED, sendEmptyResponse } from "./sasl-common";
import { text } from "./stanza-query";
import { valueLength, valuePointer } from "./stanza-query";

// SCRATCH: the first half holds the plaintext being built, the second the decoded challenge.
const PLAIN: usize = SCRATCH;
const PLAIN_CAPACITY: i32 = SCRATCH_CAPACITY / 2;
const DECODED: usize = SCRATCH + <usize>(SCRATCH_CAPACITY / 2);
const DECODED_CAPACITY: i32 = SCRATCH_CAPACITY / 2;
const HA1 = SASL_HA1;
const HA2 = SASL_HA2;
const DIGEST = SASL_DIGEST;
const HEX = SASL_HEX;

/** Forgets the exchange (spec §7.5: nonce, cnonce, realm, algorithm, charset cleared, qop "auth"). */
export function digestClear(): void {
  fieldClear(SASL_NONCE);
  fieldClear(SASL_CNONCE);
  fieldClear(SASL_REALM);
  fieldClear(SASL_ALGORITHM);
  fieldClear(SASL_CHARSET);
  fieldClear(SASL_RSPAUTH);
  fieldSetAscii(SASL_QOP, "auth");
}

export function digestAuth(): bool {
  begin().ascii("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>");
  return end();
}

/** A <challenge> element: answers it, or says why not (sasl-common.ts's CHALLENGE_* results). */
export function digestChallenge(tree: usize, node: i32): i32 {
  if (!text(tree, node)) return CHALLENGE_BAD;
  const decoded = decode(valuePointer, valueLength);
  if (decoded < 0) return CHALLENGE_BAD;
  const hadRspauth = quirk(QUIRK_CHALLENGE_STRICT) ? parseFirmware(DECODED, decoded) : parseRfc(DECODED, decoded);
  if (hadRspauth < 0) return CHALLENGE_BAD;
  if (hadRspauth == 1) return !checkRspauth() ? CHALLENGE_BAD_PROOF : sendEmptyResponse() ? CHALLENGE_VERIFIED : CHALLENGE_BAD;
  if (fieldLength(SASL_NONCE) == 0) return CHALLENGE_BAD;
  if (!acceptable()) return CHALLENGE_BAD;
  makeCnonce();
  const length = buildResponse();
  if (length < 0) return CHALLENGE_BAD;
  const writer = begin();
  writer.ascii("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
  appendBase64(writer, PLAIN, length);
  writer.ascii("</response>");
  return end() ? CHALLENGE_ANSWERED : CHALLENGE_BAD;
}

/**
 * The RFC way also checks an rspauth carried in <success> (RFC 6120 §6.4.6). Returns false only if one is there and
 * wrong.
 */
export function digestSuccessProves(tree: usize, node: i32): bool {
  if (!text(tree, node) || valueLength == 0) return true;
  const decoded = decode(valuePointer, valueLength);
  if (decoded < 0) return false;
  if (parseRfc(DECODED, decoded) != 1) return true;
  return checkRspauth();
}

/** Decodes base64 text into DECODED; its length, or -1. */
function decode(pointer: usize, length: i32): i32 {
  return max(-1, decodeReceivedBase64(pointer, length, DECODED, DECODED_CAPACITY));
}

/** The received rspauth, kept until checked. */
const RECEIVED_RSPAUTH = SASL_RECEIVED_RSPAUTH;
let receivedRspauthLength = 0;

function checkRspauth(): bool {
  // The firmware's compare reads the zero padding: trailing NULs from its decoder do not count.
  let length = receivedRspauthLength;
  while (length > 0 && load<u8>(RECEIVED_RSPAUTH + length - 1) == 0) length--;
  return fieldLength(SASL_RSPAUTH) > 0 && fieldEquals(SASL_RSPAUTH, RECEIVED_RSPAUTH, length);
}

/** Stores one directive; false if it makes the challenge unusable. `rspauth` is noted apart. */
function directive(key: usize, keyLength: i32, value: usize, valueLength: i32): bool {
  if (bytesEqualAscii(key, keyLength, "nonce")) {
    // A nonce while one is held (a duplicate, or left from an earlier challenge of this attempt) rejects it.
    if (fieldLength(SASL_NONCE) > 0) return false;
    return fieldSet(SASL_NONCE, value, valueLength);
  }
  if (bytesEqualAscii(key, keyLength, "realm")) return fieldSet(SASL_REALM, value, valueLength);
  if (bytesEqualAscii(key, keyLength, "qop")) return fieldSet(SASL_QOP, value, valueLength);
  if (bytesEqualAscii(key, keyLength, "charset")) return fieldSet(SASL_CHARSET, value, valueLength);
  if (bytesEqualAscii(key, keyLength, "algorithm")) {
    if (fieldLength(SASL_ALGORITHM) > 0) return false;
    return fieldSet(SASL_ALGORITHM, value, valueLength);
  }
  if (bytesEqualAscii(key, keyLength, "rspauth")) {
    if (valueLength > SASL_RECEIVED_RSPAUTH_CAPACITY) return false;
    memory.copy(RECEIVED_RSPAUTH, value, <usize>valueLength);
    receivedRspauthLength = valueLength;
    sawRspauth = true;
  }
  return true;
}

let sawRspauth = false;

/**
 * The firmware's split: key up to '=', then a "quoted" value (to the next quote, no escapes) or a bare one (to the
 * next ',' or '='), kept raw. Returns 1 if an rspauth came, 0 if not, -1 if unusable.
 */
function parseFirmware(pointer: usize, length: i32): i32 {
  sawRspauth = false;
  let i = 0;
  // Each pass takes one directive and moves past the next ','.
  while (i < length) {
    const key = i;
    while (i < length && load<u8>(pointer + i) != 0x3d && load<u8>(pointer + i) != 0x2c) i++;
    if (i >= length) break;
    if (load<u8>(pointer + i) == 0x2c) {
      i++;
      continue;
    }
    const keyLength = i - key;
    i++;
    let value = i;
    let valueEnd = i;
    if (i < length && load<u8>(pointer + i) == 0x22) {
      value = ++i;
      while (i < length && load<u8>(pointer + i) != 0x22) i++;
      valueEnd = i;
    } else {
      while (i < length && load<u8>(pointer + i) != 0x2c && load<u8>(pointer + i) != 0x3d) i++;
      valueEnd = i;
    }
    if (!directive(pointer + key, keyLength, pointer + value, valueEnd - value)) return -1;
    while (i < length && load<u8>(pointer + i) != 0x2c) i++;
    i++;
  }
  return sawRspauth ? 1 : 0;
}

// @ts-ignore: decorator
@inline function isLws(c: i32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0a;
}

/**
 * RFC 2831 §2.1.1: directives separated by ',' with optional whitespace, values as tokens or quoted strings with
 * '\' escapes (unescaped into DECODED's own bytes, which only shrink). Several realms: the domain if offered, else
 * the first. Returns 1 if an rspauth came, 0 if not, -1 if unusable.
 */
function parseRfc(pointer: usize, length: i32): i32 {
  sawRspauth = false;
  let realmChosen = false;
  let i = 0;
  // Each pass takes one directive or a separator.
  while (i < length) {
    const c = <i32>load<u8>(pointer + i);
    if (isLws(c) || c == 0x2c) {
      i++;
      continue;
    }
    const key = i;
    while (i < length && !isLws(<i32>load<u8>(pointer + i)) && load<u8>(pointer + i) != 0x3d && load<u8>(pointer + i) != 0x2c) i++;
    const keyLength = i - key;
    while (i < length && isLws(<i32>load<u8>(pointer + i))) i++;
    if (i >= length || load<u8>(pointer + i) != 0x3d) return -1;
    i++;
    while (i < length && isLws(<i32>load<u8>(pointer + i))) i++;
    let value = i;
    let valueLength = 0;
    if (i < length && load<u8>(pointer + i) == 0x22) {
      // Quoted string: unescape in place (the write position never passes the read position).
      i++;
      value = i;
      let write = i;
      while (i < length && load<u8>(pointer + i) != 0x22) {
        if (load<u8>(pointer + i) == 0x5c && i + 1 < length) i++;
        store<u8>(pointer + write, load<u8>(pointer + i));
        write++;
        i++;
      }
      if (i >= length) return -1;
      valueLength = write - value;
      i++;
    } else {
      while (i < length && load<u8>(pointer + i) != 0x2c && !isLws(<i32>load<u8>(pointer + i))) i++;
      valueLength = i - value;
    }
    if (bytesEqualAscii(pointer + key, keyLength, "realm")) {
      // The first realm, unless the domain itself is offered.
      if (!realmChosen || fieldEquals(DOMAIN, pointer + value, valueLength)) {
        if (!fieldSet(SASL_REALM, pointer + value, valueLength)) return -1;
        realmChosen = true;
      }
      continue;
    }
    if (bytesEqualAscii(pointer + key, keyLength, "qop")) {
      // A list: "auth" must be in it; it is what the response uses.
      if (!listHas(pointer + value, valueLength, "auth")) return -1;
      fieldSetAscii(SASL_QOP, "auth");
      continue;
    }
    if (!directive(pointer + key, keyLength, pointer + value, valueLength)) return -1;
  }
  return sawRspauth ? 1 : 0;
}

/** A comma-separated list (with optional whitespace) holds the item. */
function listHas(pointer: usize, length: i32, item: Ascii): bool {
  let i = 0;
  while (i < length) {
    while (i < length && (isLws(<i32>load<u8>(pointer + i)) || load<u8>(pointer + i) == 0x2c)) i++;
    const start = i;
    while (i < length && load<u8>(pointer + i) != 0x2c && !isLws(<i32>load<u8>(pointer + i))) i++;
    if (bytesEqualAscii(pointer + start, i - start, item)) return true;
  }
  return false;
}

/** A value equals a literal, trailing NULs aside (the firmware's compare reads its zero padding, spec §7.2). */
function valueIs(field: usize, literal: Ascii): bool {
  let length = fieldLength(field);
  while (length > 0 && load<u8>(fieldData(field) + length - 1) == 0) length--;
  return bytesEqualAscii(fieldData(field), length, literal);
}

/** The challenge asks for what the rabbit can do: md5-sess, qop auth, charset utf-8 (the RFC way: if given). */
function acceptable(): bool {
  if (!valueIs(SASL_ALGORITHM, "md5-sess")) return false;
  if (quirk(QUIRK_CHALLENGE_STRICT)) return valueIs(SASL_QOP, "auth") && valueIs(SASL_CHARSET, "utf-8");
  return fieldLength(SASL_CHARSET) == 0 || valueIs(SASL_CHARSET, "utf-8");
}

const CNONCE_DIGITS = "0123456789528460";

/** The client nonce: 13 digits from the VM generator (cnonce-lcg) or 64 random bits in hex; then a NUL (cnonce-nul). */
function makeCnonce(): void {
  const cnonce = fieldData(SASL_CNONCE);
  let length = 0;
  if (quirk(QUIRK_CNONCE_LCG)) {
    for (; length < 13; length++) store<u8>(cnonce + length, load<u8>(asciiData(CNONCE_DIGITS) + <usize>(rand() & 15)));
  } else {
    random_bytes(DIGEST, 8);
    writeHex(DIGEST, 8, cnonce);
    length = 16;
  }
  if (quirk(QUIRK_CNONCE_NUL)) store<u8>(cnonce + length++, 0);
  store<i32>(SASL_CNONCE, length);
}

/** Makes a cnonce as onChallenge would (test vectors). */
export function makeCnonceForTest(): void {
  makeCnonce();
}

/** Sets the cnonce (test vectors). */
export function setCnonce(pointer: usize, length: i32): void {
  fieldSet(SASL_CNONCE, pointer, length);
}

// @ts-ignore: decorator
@inline function md5Bug(): bool {
  return quirk(QUIRK_MD5_LENGTH);
}

function updateField(field: usize): void {
  md5Update(fieldData(field), fieldLength(field));
}

function updateAscii(literal: Ascii): void {
  md5Update(asciiData(literal), asciiLength(literal));
}

/** hex(MD5(KD)) for A2 = prefix + "xmpp/" + domain, into HEX. HA1 must be computed. */
function kd(a2Prefix: Ascii): void {
  // HA2
  md5Init();
  updateAscii(a2Prefix);
  updateAscii("xmpp/");
  updateField(DOMAIN);
  md5Final(DIGEST, md5Bug());
  writeHex(DIGEST, 16, HA2);
  // KD = HA1 ":" nonce ":00000001:" cnonce ":" qop ":" HA2
  md5Init();
  md5Update(HA1, 32);
  updateAscii(":");
  updateField(SASL_NONCE);
  updateAscii(":00000001:");
  updateField(SASL_CNONCE);
  updateAscii(":");
  updateField(SASL_QOP);
  updateAscii(":");
  md5Update(HA2, 32);
  md5Final(DIGEST, md5Bug());
  writeHex(DIGEST, 16, HEX);
}

/**
 * Computes the digest and builds the response plaintext in SCRATCH; returns its length (-1 if it does not fit).
 * Also keeps the rspauth the server must answer with. Username MAC, password from PASSWORD, realm and nonce from
 * the challenge, cnonce made.
 */
export function buildResponse(): i32 {
  // X = MD5(MAC ":" realm ":" password), raw; A1 = X ":" nonce ":" cnonce; HA1 = hex(MD5(A1)).
  md5Init();
  updateField(MAC_HEX);
  updateAscii(":");
  updateField(SASL_REALM);
  updateAscii(":");
  updateField(PASSWORD);
  md5Final(DIGEST, md5Bug());
  md5Init();
  md5Update(DIGEST, 16);
  updateAscii(":");
  updateField(SASL_NONCE);
  updateAscii(":");
  updateField(SASL_CNONCE);
  md5Final(DIGEST, md5Bug());
  writeHex(DIGEST, 16, HA1);
  // The rspauth the server must send, then the response.
  kd(":");
  fieldSet(SASL_RSPAUTH, HEX, 32);
  kd("AUTHENTICATE:");

  // username="MAC",realm="REALM",nonce="NONCE",cnonce="C",nc=00000001,qop=QOP,digest-uri="xmpp/DOMAIN",response=HEX,charset=CHARSET
  const plain = changetype<Writer>(SASL_PLAIN_WRITER);
  plain.base = PLAIN;
  plain.capacity = PLAIN_CAPACITY;
  plain.reset();
  const rfc = !quirk(QUIRK_CHALLENGE_STRICT);
  plain.ascii("username=\"");
  quoted(plain, MAC_HEX, rfc);
  plain.ascii("\",");
  if (fieldLength(SASL_REALM) > 0) {
    plain.ascii("realm=\"");
    quoted(plain, SASL_REALM, rfc);
    plain.ascii("\",");
  }
  plain.ascii("nonce=\"");
  quoted(plain, SASL_NONCE, rfc);
  plain.ascii("\",cnonce=\"");
  quoted(plain, SASL_CNONCE, rfc);
  plain.ascii("\",nc=00000001,qop=");
  plain.bytes(fieldData(SASL_QOP), fieldLength(SASL_QOP));
  plain.ascii(",digest-uri=\"xmpp/");
  quoted(plain, DOMAIN, rfc);
  plain.ascii("\",response=");
  plain.bytes(HEX, 32);
  if (!rfc || fieldLength(SASL_CHARSET) > 0) {
    plain.ascii(",charset=");
    plain.bytes(fieldData(SASL_CHARSET), fieldLength(SASL_CHARSET));
  }
  return plain.overflowed ? -1 : plain.length;
}

/** A field inside a quoted string: raw (the firmware), or with '"' and '\' escaped (RFC 2831). */
function quoted(writer: Writer, field: usize, escape: bool): void {
  const pointer = fieldData(field);
  const length = fieldLength(field);
  for (let i = 0; i < length; i++) {
    const c = <i32>load<u8>(pointer + i);
    if (escape && (c == 0x22 || c == 0x5c)) writer.byte(0x5c);
    writer.byte(c);
  }
}

/** Appends the base64 of [pointer, pointer + length) to the writer (b64-enc-padding: the firmware's short padding). */
export function appendBase64(writer: Writer, pointer: usize, length: i32): void {
  writer.base64(pointer, length, quirk(QUIRK_B64_ENC_PADDING));
}

/** The expected rspauth, as hex (tests). */
export function expectedRspauth(): usize {
  return SASL_RSPAUTH;
}

/** Where the last plaintext was built (tests). */
export function plaintext(): usize {
  return PLAIN;
}
