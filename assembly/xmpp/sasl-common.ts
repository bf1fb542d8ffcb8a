// What the SASL mechanisms share: the results of a challenge step, the empty response, and decoding a payload.

import { base64Decode } from "../codec/base64";
import { begin, end } from "./output";
import { text, valueLength, valuePointer } from "./stanza-query";

/** Results of a challenge step. */
export const CHALLENGE_ANSWERED: i32 = 1; //   the mechanism's response went out
export const CHALLENGE_VERIFIED: i32 = 2; //   the server proved itself; the empty response went out
export const CHALLENGE_BAD: i32 = -1; //       unusable challenge
export const CHALLENGE_BAD_PROOF: i32 = -2; // the server's proof (rspauth, ServerSignature) is wrong

export function sendEmptyResponse(): bool {
  begin().ascii("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  return end();
}

/**
 * The base64 payload of a challenge or success element (RFC 6120 §6.4.2), strictly decoded into `out`: its length
 * (0 for an empty element or a lone "="), or -1 if it is not base64 or does not fit.
 */
export function decodePayload(tree: usize, node: i32, out: usize, capacity: i32): i32 {
  if (!text(tree, node) || valueLength == 0) return 0;
  if (valueLength == 1 && load<u8>(valuePointer) == 0x3d) return 0;
  const length = base64Decode(valuePointer, valueLength, out, capacity);
  return length < 0 ? -1 : length;
}
