// How the rabbit decodes the base64 it receives (SASL challenges, violet:packet payloads): decided here, once, from
// its two quirks, each a switch of its own (b64-dec-nul, b64-dec-phase); with neither, RFC 4648.

import { base64Decode, base64DecodeFirmware } from "../codec/base64";
import { quirk, QUIRK_B64_DEC_NUL, QUIRK_B64_DEC_PHASE } from "../quirks";

/** Decodes base64 text into `out`; the decoded length, or < 0 (bad base64, no room). */
export function decodeReceivedBase64(pointer: usize, length: i32, out: usize, capacity: i32): i32 {
  if (!quirk(QUIRK_B64_DEC_NUL) && !quirk(QUIRK_B64_DEC_PHASE)) return base64Decode(pointer, length, out, capacity);
  return base64DecodeFirmware(pointer, length, out, capacity, quirk(QUIRK_B64_DEC_NUL), quirk(QUIRK_B64_DEC_PHASE));
}
