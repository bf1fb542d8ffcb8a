// MD5 (RFC 1321), streaming over one static context, and the firmware's variant with its padding bug.
//
// The firmware (md5.mtl, rev 18673) pads into ⌊L/64⌋ + 1 blocks and adds a block only when L mod 1024 is in 56..63,
// then writes the bit length as 48 bits at the last block's bytes 56..61. When L mod 64 is in 56..63 and no block was
// added, that length overwrites the tail of the message (spec §11.3): lengths 120..127, 184..191, ... hash wrongly.
// Every other length gives the RFC digest. Only the final block differs, so the bug lives in md5Final alone.
//
// One context at a time: callers finish one digest before starting the next (DIGEST-MD5 computes its nested hashes in
// sequence).

import { MD5_BLOCK } from "../memory-map";

let h0: u32 = 0;
let h1: u32 = 0;
let h2: u32 = 0;
let h3: u32 = 0;
/** Bytes hashed since md5Init. */
let totalLength: u64 = 0;
/** Bytes waiting in MD5_BLOCK, 0..63. */
let blockFill: i32 = 0;

export const MD5_DIGEST_LENGTH: i32 = 16;

export function md5Init(): void {
  h0 = 0x67452301;
  h1 = 0xefcdab89;
  h2 = 0x98badcfe;
  h3 = 0x10325476;
  totalLength = 0;
  blockFill = 0;
}

/** Adds `length` bytes at `pointer`. Any number of calls, of any size. */
export function md5Update(pointer: usize, length: i32): void {
  if (length <= 0) return;
  totalLength += <u64>length;
  if (blockFill > 0) {
    const take = min(64 - blockFill, length);
    memory.copy(MD5_BLOCK + blockFill, pointer, <usize>take);
    blockFill += take;
    pointer += take;
    length -= take;
    if (blockFill < 64) return;
    md5Block(MD5_BLOCK);
    blockFill = 0;
  }
  // Whole blocks are hashed where they lie, without a copy.
  while (length >= 64) {
    md5Block(pointer);
    pointer += 64;
    length -= 64;
  }
  if (length > 0) {
    memory.copy(MD5_BLOCK, pointer, <usize>length);
    blockFill = length;
  }
}

/** Writes the 16-byte digest at `out`. With `firmwareLengthBug`, pads as firmware rev 18673 does. */
export function md5Final(out: usize, firmwareLengthBug: bool): void {
  const tail = blockFill;
  const bitLength = totalLength << 3;
  store<u8>(MD5_BLOCK + tail, 0x80);
  memory.fill(MD5_BLOCK + tail + 1, 0, <usize>(63 - tail));
  if (firmwareLengthBug && tail >= 56 && !firmwareAddsBlock(totalLength)) {
    // 48-bit length over bytes 56..61 of this same block; bytes 62 and 63 keep what was there.
    store<u32>(MD5_BLOCK + 56, <u32>bitLength);
    store<u16>(MD5_BLOCK + 60, <u16>(bitLength >> 32));
    md5Block(MD5_BLOCK);
  } else {
    if (tail >= 56) {
      md5Block(MD5_BLOCK);
      memory.fill(MD5_BLOCK, 0, 56);
    }
    store<u64>(MD5_BLOCK + 56, bitLength);
    md5Block(MD5_BLOCK);
  }
  store<u32>(out, h0);
  store<u32>(out + 4, h1);
  store<u32>(out + 8, h2);
  store<u32>(out + 12, h3);
}

/** One-shot digest of [pointer, pointer + length) into `out`. */
export function md5(pointer: usize, length: i32, out: usize, firmwareLengthBug: bool): void {
  md5Init();
  md5Update(pointer, length);
  md5Final(out, firmwareLengthBug);
}

/** The firmware adds the extra padding block only for these lengths. */
function firmwareAddsBlock(length: u64): bool {
  const r = <u32>(length & 1023);
  return r >= 56 && r <= 63;
}

// The 64 additive constants, ⌊|sin(i + 1)| · 2^32⌋, in step order.
const STEP_CONSTANTS: usize = memory.data<u32>([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
], 16);

// Byte offsets of the message word each step of rounds 2 to 4 reads (round 1 reads the words in order).
const WORD_OFFSETS: usize = memory.data<u8>([
  4, 24, 44, 0, 20, 40, 60, 16, 36, 56, 12, 32, 52, 8, 28, 48,
  20, 32, 44, 56, 4, 16, 28, 40, 52, 0, 12, 24, 36, 48, 60, 8,
  0, 28, 56, 20, 48, 12, 40, 4, 32, 60, 24, 52, 16, 44, 8, 36,
], 16);
/** Left rotations: four per round, repeating every four steps. */
const ROTATIONS: usize = memory.data<u8>([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21], 16);

/**
 * Compresses the 64-byte block at `p` into the state. MD5 words are little-endian, as WebAssembly loads are.
 *
 * One loop per round, one step per pass. Rolling costs no time under V8 (measured: the same MB/s as the fully unrolled
 * form, in a fifth of the code): the table loads and a + x + t do not depend on the previous step, so they run while
 * it finishes, and the renaming of a, b, c, d is free. Each round function is written so that b, the previous step's
 * result, enters as late as possible; G uses (~d & c) + (d & b), whose terms never overlap.
 */
function md5Block(p: usize): void {
  let a = h0, b = h1, c = h2, d = h3;
  let step = 0;
  for (; step < 16; step++) {
    const sum = a + load<u32>(p + (<usize>step << 2)) + load<u32>(STEP_CONSTANTS + (<usize>step << 2)) + (d ^ (b & (c ^ d)));
    a = d; d = c; c = b;
    b += rotl<u32>(sum, load<u8>(ROTATIONS + (step & 3)));
  }
  for (; step < 32; step++) {
    const sum = a + load<u32>(p + load<u8>(WORD_OFFSETS + step - 16)) + load<u32>(STEP_CONSTANTS + (<usize>step << 2)) + (~d & c) + (d & b);
    a = d; d = c; c = b;
    b += rotl<u32>(sum, load<u8>(ROTATIONS + 4 + (step & 3)));
  }
  for (; step < 48; step++) {
    const sum = a + load<u32>(p + load<u8>(WORD_OFFSETS + step - 16)) + load<u32>(STEP_CONSTANTS + (<usize>step << 2)) + (b ^ (c ^ d));
    a = d; d = c; c = b;
    b += rotl<u32>(sum, load<u8>(ROTATIONS + 8 + (step & 3)));
  }
  for (; step < 64; step++) {
    const sum = a + load<u32>(p + load<u8>(WORD_OFFSETS + step - 16)) + load<u32>(STEP_CONSTANTS + (<usize>step << 2)) + (c ^ (b | ~d));
    a = d; d = c; c = b;
    b += rotl<u32>(sum, load<u8>(ROTATIONS + 12 + (step & 3)));
  }
  h0 += a;
  h1 += b;
  h2 += c;
  h3 += d;
}
