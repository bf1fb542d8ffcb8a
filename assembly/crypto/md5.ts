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

// The round functions, written so that a + x + t (which does not depend on the previous step) is summed while the
// previous step finishes, and the previous result b enters as late as possible: MD5 is bound by this dependency chain.
// G uses (d & b) + (~d & c), whose terms never overlap, so only one operation waits for b.

// @ts-ignore: decorator
@inline function f(a: u32, b: u32, c: u32, d: u32, x: u32, s: u32, t: u32): u32 {
  return rotl<u32>(a + x + t + (d ^ (b & (c ^ d))), s) + b;
}
// @ts-ignore: decorator
@inline function g(a: u32, b: u32, c: u32, d: u32, x: u32, s: u32, t: u32): u32 {
  return rotl<u32>(a + x + t + (~d & c) + (d & b), s) + b;
}
// @ts-ignore: decorator
@inline function h(a: u32, b: u32, c: u32, d: u32, x: u32, s: u32, t: u32): u32 {
  return rotl<u32>(a + x + t + (b ^ (c ^ d)), s) + b;
}
// @ts-ignore: decorator
@inline function i(a: u32, b: u32, c: u32, d: u32, x: u32, s: u32, t: u32): u32 {
  return rotl<u32>(a + x + t + (c ^ (b | ~d)), s) + b;
}

/** Compresses the 64-byte block at `p` into the state. MD5 words are little-endian, as WebAssembly loads are. */
function md5Block(p: usize): void {
  const x0 = load<u32>(p, 0), x1 = load<u32>(p, 4), x2 = load<u32>(p, 8), x3 = load<u32>(p, 12);
  const x4 = load<u32>(p, 16), x5 = load<u32>(p, 20), x6 = load<u32>(p, 24), x7 = load<u32>(p, 28);
  const x8 = load<u32>(p, 32), x9 = load<u32>(p, 36), x10 = load<u32>(p, 40), x11 = load<u32>(p, 44);
  const x12 = load<u32>(p, 48), x13 = load<u32>(p, 52), x14 = load<u32>(p, 56), x15 = load<u32>(p, 60);
  let a = h0, b = h1, c = h2, d = h3;

  a = f(a, b, c, d, x0, 7, 0xd76aa478); d = f(d, a, b, c, x1, 12, 0xe8c7b756);
  c = f(c, d, a, b, x2, 17, 0x242070db); b = f(b, c, d, a, x3, 22, 0xc1bdceee);
  a = f(a, b, c, d, x4, 7, 0xf57c0faf); d = f(d, a, b, c, x5, 12, 0x4787c62a);
  c = f(c, d, a, b, x6, 17, 0xa8304613); b = f(b, c, d, a, x7, 22, 0xfd469501);
  a = f(a, b, c, d, x8, 7, 0x698098d8); d = f(d, a, b, c, x9, 12, 0x8b44f7af);
  c = f(c, d, a, b, x10, 17, 0xffff5bb1); b = f(b, c, d, a, x11, 22, 0x895cd7be);
  a = f(a, b, c, d, x12, 7, 0x6b901122); d = f(d, a, b, c, x13, 12, 0xfd987193);
  c = f(c, d, a, b, x14, 17, 0xa679438e); b = f(b, c, d, a, x15, 22, 0x49b40821);

  a = g(a, b, c, d, x1, 5, 0xf61e2562); d = g(d, a, b, c, x6, 9, 0xc040b340);
  c = g(c, d, a, b, x11, 14, 0x265e5a51); b = g(b, c, d, a, x0, 20, 0xe9b6c7aa);
  a = g(a, b, c, d, x5, 5, 0xd62f105d); d = g(d, a, b, c, x10, 9, 0x02441453);
  c = g(c, d, a, b, x15, 14, 0xd8a1e681); b = g(b, c, d, a, x4, 20, 0xe7d3fbc8);
  a = g(a, b, c, d, x9, 5, 0x21e1cde6); d = g(d, a, b, c, x14, 9, 0xc33707d6);
  c = g(c, d, a, b, x3, 14, 0xf4d50d87); b = g(b, c, d, a, x8, 20, 0x455a14ed);
  a = g(a, b, c, d, x13, 5, 0xa9e3e905); d = g(d, a, b, c, x2, 9, 0xfcefa3f8);
  c = g(c, d, a, b, x7, 14, 0x676f02d9); b = g(b, c, d, a, x12, 20, 0x8d2a4c8a);

  a = h(a, b, c, d, x5, 4, 0xfffa3942); d = h(d, a, b, c, x8, 11, 0x8771f681);
  c = h(c, d, a, b, x11, 16, 0x6d9d6122); b = h(b, c, d, a, x14, 23, 0xfde5380c);
  a = h(a, b, c, d, x1, 4, 0xa4beea44); d = h(d, a, b, c, x4, 11, 0x4bdecfa9);
  c = h(c, d, a, b, x7, 16, 0xf6bb4b60); b = h(b, c, d, a, x10, 23, 0xbebfbc70);
  a = h(a, b, c, d, x13, 4, 0x289b7ec6); d = h(d, a, b, c, x0, 11, 0xeaa127fa);
  c = h(c, d, a, b, x3, 16, 0xd4ef3085); b = h(b, c, d, a, x6, 23, 0x04881d05);
  a = h(a, b, c, d, x9, 4, 0xd9d4d039); d = h(d, a, b, c, x12, 11, 0xe6db99e5);
  c = h(c, d, a, b, x15, 16, 0x1fa27cf8); b = h(b, c, d, a, x2, 23, 0xc4ac5665);

  a = i(a, b, c, d, x0, 6, 0xf4292244); d = i(d, a, b, c, x7, 10, 0x432aff97);
  c = i(c, d, a, b, x14, 15, 0xab9423a7); b = i(b, c, d, a, x5, 21, 0xfc93a039);
  a = i(a, b, c, d, x12, 6, 0x655b59c3); d = i(d, a, b, c, x3, 10, 0x8f0ccc92);
  c = i(c, d, a, b, x10, 15, 0xffeff47d); b = i(b, c, d, a, x1, 21, 0x85845dd1);
  a = i(a, b, c, d, x8, 6, 0x6fa87e4f); d = i(d, a, b, c, x15, 10, 0xfe2ce6e0);
  c = i(c, d, a, b, x6, 15, 0xa3014314); b = i(b, c, d, a, x13, 21, 0x4e0811a1);
  a = i(a, b, c, d, x4, 6, 0xf7537e82); d = i(d, a, b, c, x11, 10, 0xbd3af235);
  c = i(c, d, a, b, x2, 15, 0x2ad7d2bb); b = i(b, c, d, a, x9, 21, 0xeb86d391);

  h0 += a;
  h1 += b;
  h2 += c;
  h3 += d;
}
