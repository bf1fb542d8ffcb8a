// SASL (RFC 6120 §6; spec §7): which mechanism, and each step of the exchange handed to the mechanism's own file:
// sasl-digest-md5.ts (the firmware's, RFC 2831), sasl-scram.ts (SCRAM-SHA-1, RFC 5802), sasl-plain.ts (RFC 4616).
// The firmware asks for DIGEST-MD5 whatever is offered (mech-blind); the standard profile takes the best offered:
// SCRAM-SHA-1, then DIGEST-MD5, then PLAIN. The host may force one (`sasl_force`). The device build (FIRMWARE_ONLY)
// has DIGEST-MD5 alone: each dispatch below ends after it there, and the other mechanisms are not compiled.

import { FIRMWARE_ONLY } from "../build";
import { MAC_HEX, PASSWORD, SCRATCH, SCRATCH_CAPACITY } from "../memory-map";
import { quirk, QUIRK_MECH_BLIND } from "../quirks";
import { treeNode } from "../xml/tree";
import { bytesEqualAscii } from "../util/bytes";
import { fieldData, fieldLength } from "../util/field";
import { begin, end } from "./output";
import { CHALLENGE_ANSWERED, CHALLENGE_BAD, CHALLENGE_BAD_PROOF, CHALLENGE_VERIFIED, decodePayload, sendEmptyResponse } from "./sasl-common";
import { digestAuth, digestChallenge, digestClear, digestSuccessProves } from "./sasl-digest-md5";
import { plainAuth } from "./sasl-plain";
import { SCRAM_BAD_SIGNATURE, SCRAM_OK, scramClear, scramClientFirst, scramMessage, scramServerFinal, scramServerFirst, scramVerified } from "./sasl-scram";
import { isNamed, text, valueLength, valuePointer } from "./stanza-query";

export const MECHANISM_NONE: i32 = 0; //        none usable (or, for sasl_force: choose)
export const MECHANISM_DIGEST_MD5: i32 = 1;
export const MECHANISM_SCRAM_SHA_1: i32 = 2;
export const MECHANISM_PLAIN: i32 = 3;

/** Set by the host before boot; MECHANISM_NONE lets the profile choose. */
let forced = MECHANISM_NONE;
/** Bit per mechanism, from the last <mechanisms> list. */
let offered = 0;
/** The mechanism of the exchange under way. */
let current = MECHANISM_NONE;

export function saslForce(mechanism: i32): void {
  forced = mechanism >= MECHANISM_DIGEST_MD5 && mechanism <= MECHANISM_PLAIN ? mechanism : MECHANISM_NONE;
}

/** Notes which mechanisms the <mechanisms> element at `node` lists. */
export function saslOffered(tree: usize, node: i32): void {
  offered = 0;
  if (FIRMWARE_ONLY) return; // mech-blind: the offer is never read
  const end = <i32>treeNode(tree, node).end;
  for (let i = node + 1; i < end; i++) {
    if (!isNamed(tree, i, "mechanism") || !text(tree, i)) continue;
    if (bytesEqualAscii(valuePointer, valueLength, "DIGEST-MD5")) offered |= 1 << MECHANISM_DIGEST_MD5;
    else if (bytesEqualAscii(valuePointer, valueLength, "SCRAM-SHA-1")) offered |= 1 << MECHANISM_SCRAM_SHA_1;
    else if (bytesEqualAscii(valuePointer, valueLength, "PLAIN")) offered |= 1 << MECHANISM_PLAIN;
  }
}

/** The mechanism to use with what was offered, or MECHANISM_NONE. */
export function saslChoose(): i32 {
  if (FIRMWARE_ONLY) return MECHANISM_DIGEST_MD5;
  if (forced != MECHANISM_NONE) return forced;
  if (quirk(QUIRK_MECH_BLIND)) return MECHANISM_DIGEST_MD5;
  if (offered & (1 << MECHANISM_SCRAM_SHA_1)) return MECHANISM_SCRAM_SHA_1;
  if (offered & (1 << MECHANISM_DIGEST_MD5)) return MECHANISM_DIGEST_MD5;
  if (offered & (1 << MECHANISM_PLAIN)) return MECHANISM_PLAIN;
  return MECHANISM_NONE;
}

export function saslCurrent(): i32 {
  return current;
}

/** Sends <auth> for `mechanism`, as MAC_HEX with PASSWORD (SCRAM and PLAIN carry their first message in it). */
export function saslStart(mechanism: i32): bool {
  current = mechanism;
  if (mechanism == MECHANISM_DIGEST_MD5) return digestAuth();
  if (FIRMWARE_ONLY) return false;
  if (mechanism == MECHANISM_PLAIN) return plainAuth(fieldData(MAC_HEX), fieldLength(MAC_HEX), fieldData(PASSWORD), fieldLength(PASSWORD));
  if (mechanism == MECHANISM_SCRAM_SHA_1) {
    const length = scramClientFirst(fieldData(MAC_HEX), fieldLength(MAC_HEX));
    if (length < 0) return false;
    const writer = begin();
    writer.ascii("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>");
    writer.base64(scramMessage(), length);
    writer.ascii("</auth>");
    return end();
  }
  return false;
}

/** A <challenge>: the mechanism's next step (sasl-common.ts's CHALLENGE_* results). */
export function saslChallenge(tree: usize, node: i32): i32 {
  if (current == MECHANISM_DIGEST_MD5) return digestChallenge(tree, node);
  if (FIRMWARE_ONLY || current != MECHANISM_SCRAM_SHA_1) return CHALLENGE_BAD; // PLAIN has no challenge
  const length = decodePayload(tree, node, SCRATCH, SCRATCH_CAPACITY);
  if (length <= 0) return CHALLENGE_BAD;
  // The server-first message, or (from servers that do not put it in <success>) the server-final one.
  if (bytesStartsWithVerifier(SCRATCH, length)) {
    const result = scramServerFinal(SCRATCH, length);
    if (result == SCRAM_BAD_SIGNATURE) return CHALLENGE_BAD_PROOF;
    if (result != SCRAM_OK) return CHALLENGE_BAD;
    return sendEmptyResponse() ? CHALLENGE_VERIFIED : CHALLENGE_BAD;
  }
  const finalLength = scramServerFirst(SCRATCH, length, fieldData(PASSWORD), fieldLength(PASSWORD));
  if (finalLength < 0) return CHALLENGE_BAD;
  const writer = begin();
  writer.ascii("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
  writer.base64(scramMessage(), finalLength);
  writer.ascii("</response>");
  return end() ? CHALLENGE_ANSWERED : CHALLENGE_BAD;
}

/**
 * <success>: whether the server has proved itself where the mechanism lets it. DIGEST-MD5 may carry rspauth here;
 * SCRAM must have the server-final message here or in a challenge before; PLAIN proves nothing.
 */
export function saslSuccessProves(tree: usize, node: i32): bool {
  if (current == MECHANISM_DIGEST_MD5) return digestSuccessProves(tree, node);
  if (FIRMWARE_ONLY || current != MECHANISM_SCRAM_SHA_1) return true;
  if (scramVerified()) return true;
  const length = decodePayload(tree, node, SCRATCH, SCRATCH_CAPACITY);
  return length > 0 && scramServerFinal(SCRATCH, length) == SCRAM_OK;
}

/** Forgets the exchange (spec §7.5). */
export function saslClear(): void {
  digestClear();
  if (!FIRMWARE_ONLY) scramClear();
  current = MECHANISM_NONE;
}

/** Sends <abort/> (RFC 6120 §6.4.4). */
export function sendAbort(): bool {
  begin().ascii("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  return end();
}

/** "v=" or "e=": a server-final message. */
function bytesStartsWithVerifier(pointer: usize, length: i32): bool {
  if (length < 2 || load<u8>(pointer + 1) != 0x3d) return false;
  const c = load<u8>(pointer);
  return c == 0x76 || c == 0x65;
}
