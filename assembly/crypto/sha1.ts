// SHA-1 (FIPS 180-4), streaming over a context record in static memory. The SCRAM-SHA-1 client (xmpp/sasl-scram.ts)
// needs several contexts alive at once (HMAC's inner and outer states), so unlike MD5 the state lives in a record the
// caller names, not in globals. The record (SHA1_CONTEXT_SIZE bytes): h0..h4 as u32 at 0..19, the bytes waiting in
// the block at 20 (i32), the total length at 24 (u64), the partial block at 32..95.

import { SHA1_CONTEXT_SIZE } from "../memory-map";

export const SHA1_DIGEST_LENGTH: i32 = 20;
export const SHA1_BLOCK_LENGTH: i32 = 64;

const FILL: usize = 20;
const TOTAL: usize = 24;
const BLOCK: usize = 32;

export function sha1Init(context: usize): void {
  store<u32>(context, 0x67452301);
  store<u32>(context, 0xefcdab89, 4);
  store<u32>(context, 0x98badcfe, 8);
  store<u32>(context, 0x10325476, 12);
  store<u32>(context, 0xc3d2e1f0, 16);
  store<i32>(context + FILL, 0);
  store<u64>(context + TOTAL, 0);
}

/** Adds `length` bytes at `pointer`. Any number of calls, of any size. */
export function sha1Update(context: usize, pointer: usize, length: i32): void {
  if (length <= 0) return;
  store<u64>(context + TOTAL, load<u64>(context + TOTAL) + <u64>length);
  let fill = load<i32>(context + FILL);
  if (fill > 0) {
    const take = min(64 - fill, length);
    memory.copy(context + BLOCK + fill, pointer, <usize>take);
    fill += take;
    pointer += take;
    length -= take;
    if (fill < 64) {
      store<i32>(context + FILL, fill);
      return;
    }
    sha1Compress(context, context + BLOCK, context);
    fill = 0;
  }
  // Whole blocks are hashed where they lie, without a copy.
  while (length >= 64) {
    sha1Compress(context, pointer, context);
    pointer += 64;
    length -= 64;
  }
  if (length > 0) memory.copy(context + BLOCK, pointer, <usize>length);
  store<i32>(context + FILL, length);
}

/** Writes the 20-byte digest at `out` (which may be anywhere, even inside the context's block). */
export function sha1Final(context: usize, out: usize): void {
  const fill = load<i32>(context + FILL);
  const block = context + BLOCK;
  store<u8>(block + fill, 0x80);
  memory.fill(block + fill + 1, 0, <usize>(63 - fill));
  if (fill >= 56) {
    sha1Compress(context, block, context);
    memory.fill(block, 0, 56);
  }
  store<u64>(block + 56, bswap<u64>(load<u64>(context + TOTAL) << 3));
  sha1Compress(context, block, context);
  sha1StateBytes(context, out);
}

/** One-shot digest of [pointer, pointer + length) into `out`, using `context`. */
export function sha1(context: usize, pointer: usize, length: i32, out: usize): void {
  sha1Init(context);
  sha1Update(context, pointer, length);
  sha1Final(context, out);
}

/** Copies a context (HMAC resumes from saved inner and outer states). */
export function sha1Copy(to: usize, from: usize): void {
  memory.copy(to, from, <usize>SHA1_CONTEXT_SIZE);
}

/** The five state words at `state` as the 20 big-endian digest bytes at `out`. */
// @ts-ignore: decorator
@inline export function sha1StateBytes(state: usize, out: usize): void {
  store<u32>(out, swapBytes(load<u32>(state)));
  store<u32>(out, swapBytes(load<u32>(state, 4)), 4);
  store<u32>(out, swapBytes(load<u32>(state, 8)), 8);
  store<u32>(out, swapBytes(load<u32>(state, 12)), 12);
  store<u32>(out, swapBytes(load<u32>(state, 16)), 16);
}

// WebAssembly loads are little-endian and has no byte-swap instruction; the library's bswap is a call once the
// release build shrinks, which costs a tenth of SHA-1's speed. Written inline here.
// @ts-ignore: decorator
@inline function swapBytes(x: u32): u32 {
  return rotl<u32>(x & 0xff00ff00, 8) | rotr<u32>(x & 0x00ff00ff, 8);
}
// @ts-ignore: decorator
@inline function ch(b: u32, c: u32, d: u32): u32 {
  return d ^ (b & (c ^ d));
}
// @ts-ignore: decorator
@inline function parity(b: u32, c: u32, d: u32): u32 {
  return b ^ c ^ d;
}
// @ts-ignore: decorator
@inline function maj(b: u32, c: u32, d: u32): u32 {
  return (b & c) | (d & (b | c));
}

/**
 * Compresses the 64-byte block at `p` into the five state words at `state`, writing the new words at `out` (the same
 * place when streaming; elsewhere when PBKDF2 starts each HMAC from a saved state). The rounds are written out with a
 * 16-word message window in locals: the working variables rotate by name instead of by assignment. Each round adds
 * rotl(a, 5), the only term that waits for the round before, last: SHA-1 is bound by that dependency chain.
 */
export function sha1Compress(state: usize, p: usize, out: usize): void {
  let w0 = swapBytes(load<u32>(p, 0)), w1 = swapBytes(load<u32>(p, 4)), w2 = swapBytes(load<u32>(p, 8));
  let w3 = swapBytes(load<u32>(p, 12)), w4 = swapBytes(load<u32>(p, 16)), w5 = swapBytes(load<u32>(p, 20));
  let w6 = swapBytes(load<u32>(p, 24)), w7 = swapBytes(load<u32>(p, 28)), w8 = swapBytes(load<u32>(p, 32));
  let w9 = swapBytes(load<u32>(p, 36)), w10 = swapBytes(load<u32>(p, 40)), w11 = swapBytes(load<u32>(p, 44));
  let w12 = swapBytes(load<u32>(p, 48)), w13 = swapBytes(load<u32>(p, 52)), w14 = swapBytes(load<u32>(p, 56));
  let w15 = swapBytes(load<u32>(p, 60));
  let a = load<u32>(state), b = load<u32>(state, 4), c = load<u32>(state, 8), d = load<u32>(state, 12), e = load<u32>(state, 16);

  e = e + 0x5a827999 + w0 + ch(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  d = d + 0x5a827999 + w1 + ch(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  c = c + 0x5a827999 + w2 + ch(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  b = b + 0x5a827999 + w3 + ch(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  a = a + 0x5a827999 + w4 + ch(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  e = e + 0x5a827999 + w5 + ch(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  d = d + 0x5a827999 + w6 + ch(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  c = c + 0x5a827999 + w7 + ch(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  b = b + 0x5a827999 + w8 + ch(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  a = a + 0x5a827999 + w9 + ch(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  e = e + 0x5a827999 + w10 + ch(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  d = d + 0x5a827999 + w11 + ch(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  c = c + 0x5a827999 + w12 + ch(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  b = b + 0x5a827999 + w13 + ch(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  a = a + 0x5a827999 + w14 + ch(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  e = e + 0x5a827999 + w15 + ch(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1); d = d + 0x5a827999 + w0 + ch(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1); c = c + 0x5a827999 + w1 + ch(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1); b = b + 0x5a827999 + w2 + ch(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1); a = a + 0x5a827999 + w3 + ch(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);

  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1); e = e + 0x6ed9eba1 + w4 + parity(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1); d = d + 0x6ed9eba1 + w5 + parity(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1); c = c + 0x6ed9eba1 + w6 + parity(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1); b = b + 0x6ed9eba1 + w7 + parity(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1); a = a + 0x6ed9eba1 + w8 + parity(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1); e = e + 0x6ed9eba1 + w9 + parity(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1); d = d + 0x6ed9eba1 + w10 + parity(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1); c = c + 0x6ed9eba1 + w11 + parity(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1); b = b + 0x6ed9eba1 + w12 + parity(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1); a = a + 0x6ed9eba1 + w13 + parity(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1); e = e + 0x6ed9eba1 + w14 + parity(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1); d = d + 0x6ed9eba1 + w15 + parity(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1); c = c + 0x6ed9eba1 + w0 + parity(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1); b = b + 0x6ed9eba1 + w1 + parity(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1); a = a + 0x6ed9eba1 + w2 + parity(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1); e = e + 0x6ed9eba1 + w3 + parity(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1); d = d + 0x6ed9eba1 + w4 + parity(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1); c = c + 0x6ed9eba1 + w5 + parity(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1); b = b + 0x6ed9eba1 + w6 + parity(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1); a = a + 0x6ed9eba1 + w7 + parity(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);

  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1); e = e + 0x8f1bbcdc + w8 + maj(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1); d = d + 0x8f1bbcdc + w9 + maj(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1); c = c + 0x8f1bbcdc + w10 + maj(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1); b = b + 0x8f1bbcdc + w11 + maj(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1); a = a + 0x8f1bbcdc + w12 + maj(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1); e = e + 0x8f1bbcdc + w13 + maj(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1); d = d + 0x8f1bbcdc + w14 + maj(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1); c = c + 0x8f1bbcdc + w15 + maj(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1); b = b + 0x8f1bbcdc + w0 + maj(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1); a = a + 0x8f1bbcdc + w1 + maj(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1); e = e + 0x8f1bbcdc + w2 + maj(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1); d = d + 0x8f1bbcdc + w3 + maj(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1); c = c + 0x8f1bbcdc + w4 + maj(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1); b = b + 0x8f1bbcdc + w5 + maj(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1); a = a + 0x8f1bbcdc + w6 + maj(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1); e = e + 0x8f1bbcdc + w7 + maj(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1); d = d + 0x8f1bbcdc + w8 + maj(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1); c = c + 0x8f1bbcdc + w9 + maj(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1); b = b + 0x8f1bbcdc + w10 + maj(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1); a = a + 0x8f1bbcdc + w11 + maj(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);

  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1); e = e + 0xca62c1d6 + w12 + parity(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1); d = d + 0xca62c1d6 + w13 + parity(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1); c = c + 0xca62c1d6 + w14 + parity(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1); b = b + 0xca62c1d6 + w15 + parity(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1); a = a + 0xca62c1d6 + w0 + parity(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1); e = e + 0xca62c1d6 + w1 + parity(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1); d = d + 0xca62c1d6 + w2 + parity(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1); c = c + 0xca62c1d6 + w3 + parity(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1); b = b + 0xca62c1d6 + w4 + parity(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1); a = a + 0xca62c1d6 + w5 + parity(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1); e = e + 0xca62c1d6 + w6 + parity(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1); d = d + 0xca62c1d6 + w7 + parity(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1); c = c + 0xca62c1d6 + w8 + parity(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1); b = b + 0xca62c1d6 + w9 + parity(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1); a = a + 0xca62c1d6 + w10 + parity(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1); e = e + 0xca62c1d6 + w11 + parity(b, c, d) + rotl<u32>(a, 5); b = rotl<u32>(b, 30);
  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1); d = d + 0xca62c1d6 + w12 + parity(a, b, c) + rotl<u32>(e, 5); a = rotl<u32>(a, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1); c = c + 0xca62c1d6 + w13 + parity(e, a, b) + rotl<u32>(d, 5); e = rotl<u32>(e, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1); b = b + 0xca62c1d6 + w14 + parity(d, e, a) + rotl<u32>(c, 5); d = rotl<u32>(d, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1); a = a + 0xca62c1d6 + w15 + parity(c, d, e) + rotl<u32>(b, 5); c = rotl<u32>(c, 30);

  store<u32>(out, load<u32>(state) + a);
  store<u32>(out, load<u32>(state, 4) + b, 4);
  store<u32>(out, load<u32>(state, 8) + c, 8);
  store<u32>(out, load<u32>(state, 12) + d, 12);
  store<u32>(out, load<u32>(state, 16) + e, 16);
}
