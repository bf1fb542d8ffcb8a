// Base64: RFC 4648 §4 encode and strict decode, and the firmware's variants (b64.mtl, rev 18673; spec §11.2).
//
// Firmware encoder (quirk b64-enc-padding): one '=' short — a 1-byte tail gives "xx=", a 2-byte tail "xxx" — and the
// empty input gives "A=". Firmware decoder (quirks b64-dec-nul and b64-dec-phase): the output is ⌊6·n/8⌋ bytes for n
// input characters, whatever they are; a character outside the alphabet ('=' and whitespace included) is skipped but
// still advances the 4-character phase, and output bytes never written stay NUL — hence one NUL per '='.

import { BASE64_DECODE_TABLE } from "../memory-map";

/** Decoding errors (negative results). */
export const BASE64_BAD_CHARACTER: i32 = -1;
export const BASE64_BAD_PADDING: i32 = -2;
export const BASE64_BAD_LENGTH: i32 = -3;
export const BASE64_NO_ROOM: i32 = -4;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** The alphabet's 64 bytes (ALPHABET is a literal: its length, then its bytes). */
const ALPHABET_BYTES: usize = ALPHABET + 1;

/** Fills the reverse table; called once at module start. */
export function base64Setup(): void {
  memory.fill(BASE64_DECODE_TABLE, 0xff, 256);
  for (let i = 0; i < 64; i++) store<u8>(BASE64_DECODE_TABLE + <usize>load<u8>(ALPHABET_BYTES + <usize>i), <u8>i);
}

// @ts-ignore: decorator
@inline function alphabet(index: u32): u8 {
  return load<u8>(ALPHABET_BYTES + <usize>(index & 63));
}

/** Length of the encoding of `length` bytes. */
export function base64EncodedLength(length: i32, firmwarePadding: bool): i32 {
  if (!firmwarePadding) return ((length + 2) / 3) << 2;
  if (length == 0) return 2;
  // A 1-byte tail gives "xx=", a 2-byte tail "xxx": three characters either way.
  return (length / 3) * 4 + (length % 3 == 0 ? 0 : 3);
}

/**
 * Encodes [source, source + length) at `out` (room for `capacity` bytes). Returns the encoded length, or
 * BASE64_NO_ROOM (nothing written). `firmwarePadding` selects the firmware's short padding.
 */
export function base64Encode(source: usize, length: i32, out: usize, capacity: i32, firmwarePadding: bool): i32 {
  const total = base64EncodedLength(length, firmwarePadding);
  if (total > capacity) return BASE64_NO_ROOM;
  if (firmwarePadding && length == 0) {
    store<u8>(out, 0x41); // 'A'
    store<u8>(out, 0x3d, 1); // '='
    return 2;
  }
  // Each group of up to three bytes gives four characters, '=' for each missing byte; the firmware's short padding
  // is the same text one character shorter, so writing stops at `total`.
  let o = out;
  const stop = out + <usize>total;
  for (let i = 0; i < length; i += 3) {
    const rest = length - i;
    let n = <u32>load<u8>(source + i) << 18;
    if (rest > 1) n |= <u32>load<u8>(source + i + 1) << 10;
    if (rest > 2) n |= <u32>load<u8>(source + i + 2) << 2;
    for (let k = 0; k < 4 && o < stop; k++) {
      store<u8>(o++, k <= rest ? alphabet(n >> 20) : 0x3d);
      n <<= 6;
    }
  }
  return total;
}

// @ts-ignore: decorator
@inline function isBase64Whitespace(c: i32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

/**
 * Strict RFC 4648 decode of [source, source + length) into `out`. Whitespace is skipped without breaking the 4-character
 * alignment (XMPP servers may wrap lines). Returns the decoded length or a negative BASE64_* error: a character outside
 * the alphabet, '=' anywhere but the end of the last quantum or non-zero bits under the padding, a character count not
 * a multiple of 4, or too little room. Nothing useful is left in `out` after an error.
 */
export function base64Decode(source: usize, length: i32, out: usize, capacity: i32): i32 {
  let accumulator: u32 = 0;
  let phase = 0; // characters of the current quantum seen
  let written = 0;
  let padding = 0; // '=' seen; after the first, only '=' and whitespace may follow
  for (let i = 0; i < length; i++) {
    const c = <i32>load<u8>(source + i);
    if (isBase64Whitespace(c)) continue;
    if (c == 0x3d) {
      // '=' may only fill positions 2 and 3 of a quantum.
      if (phase < 2) return BASE64_BAD_PADDING;
      padding++;
      phase++;
      if (phase == 4) phase = 0;
      continue;
    }
    if (padding > 0) return BASE64_BAD_PADDING;
    const v = <u32>load<u8>(BASE64_DECODE_TABLE + c);
    if (v == 0xff) return BASE64_BAD_CHARACTER;
    accumulator = (accumulator << 6) | v;
    phase++;
    if (phase == 4) {
      if (written + 3 > capacity) return BASE64_NO_ROOM;
      store<u8>(out + written, <u8>(accumulator >> 16));
      store<u8>(out + written, <u8>(accumulator >> 8), 1);
      store<u8>(out + written, <u8>accumulator, 2);
      written += 3;
      accumulator = 0;
      phase = 0;
    }
  }
  if (phase != 0) return padding > 0 ? BASE64_BAD_PADDING : BASE64_BAD_LENGTH;
  if (padding == 0) return written;
  if (padding > 2) return BASE64_BAD_PADDING;
  // The last quantum held 4 - padding characters, already shifted into `accumulator` without the '=' positions.
  if (padding == 2) {
    if ((accumulator & 0xf) != 0) return BASE64_BAD_PADDING;
    if (written + 1 > capacity) return BASE64_NO_ROOM;
    store<u8>(out + written, <u8>(accumulator >> 4));
    return written + 1;
  }
  if ((accumulator & 0x3) != 0) return BASE64_BAD_PADDING;
  if (written + 2 > capacity) return BASE64_NO_ROOM;
  store<u8>(out + written, <u8>(accumulator >> 10));
  store<u8>(out + written, <u8>(accumulator >> 2), 1);
  return written + 2;
}

/**
 * The firmware's decoder (spec §11.2), its two habits as two switches. `nulPerEquals`: the output is ⌊6·length/8⌋
 * bytes, every input character counted (so each '=' and each skipped character leaves a NUL at the end); otherwise the
 * exact length of the alphabet characters. `rawPhase`: the 4-character phase is the raw index, so a skipped character
 * (whitespace, '=') still advances it; otherwise only alphabet characters do. Both on: the firmware; the result or
 * BASE64_NO_ROOM.
 */
export function base64DecodeFirmware(source: usize, length: i32, out: usize, capacity: i32, nulPerEquals: bool = true, rawPhase: bool = true): i32 {
  let counted = length;
  if (!nulPerEquals) {
    counted = 0;
    for (let i = 0; i < length; i++) if (load<u8>(BASE64_DECODE_TABLE + load<u8>(source + i)) != 0xff) counted++;
  }
  const total = <i32>((<u64>counted * 6) >> 3);
  if (total > capacity) return BASE64_NO_ROOM;
  memory.fill(out, 0, <usize>total);
  let high: u32 = 0;
  let low: u32 = 0;
  let written = 0;
  let taken = 0;
  for (let i = 0; i < length; i++) {
    const v = <u32>load<u8>(BASE64_DECODE_TABLE + load<u8>(source + i));
    if (v == 0xff) continue; // skipped; with rawPhase its index still counts for the phase
    const phase = (rawPhase ? i : taken++) & 3;
    if (phase == 0) {
      high = v << 2;
    } else if (phase == 1) {
      high |= v >> 4;
      if (written < total) store<u8>(out + written, <u8>high);
      written++;
      low = (v & 15) << 4;
    } else if (phase == 2) {
      low |= v >> 2;
      if (written < total) store<u8>(out + written, <u8>low);
      written++;
      high = (v & 3) << 6;
    } else {
      high |= v;
      if (written < total) store<u8>(out + written, <u8>high);
      written++;
    }
  }
  return total;
}
