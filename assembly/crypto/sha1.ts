// SHA-1 (FIPS 180-4), streaming over a context record in static memory. The SCRAM-SHA-1 client (xmpp/sasl-scram.ts)
// needs several contexts alive at once (HMAC's inner and outer states), so unlike MD5 the state lives in a record the
// caller names, not in globals. The record (SHA1_CONTEXT_SIZE bytes): h0..h4 as u32 at 0..19, the bytes waiting in
// the block at 20 (i32), the total length at 24 (u64), the partial block at 32..95.

import { SHA1_CONTEXT_SIZE, SHA1_SCHEDULE } from "../memory-map";

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
 * place when streaming; elsewhere when PBKDF2 starts each HMAC from a saved state). One loop per round of 20 steps;
 * the message schedule is a ring of the last 16 words (SHA1_SCHEDULE). Each step adds rotl(a, 5), the only term that
 * waits for the step before, last: SHA-1 is bound by that dependency chain.
 */
export function sha1Compress(state: usize, p: usize, out: usize): void {
  for (let i = 0; i < 16; i++) store<u32>(ring(i), swapBytes(load<u32>(p + (<usize>i << 2))));
  let a = load<u32>(state), b = load<u32>(state, 4), c = load<u32>(state, 8), d = load<u32>(state, 12), e = load<u32>(state, 16);
  for (let t = 0; t < 20; t++) {
    const next = e + 0x5a827999 + (t < 16 ? load<u32>(ring(t)) : schedule(t)) + ch(b, c, d) + rotl<u32>(a, 5);
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = next;
  }
  for (let t = 20; t < 40; t++) {
    const next = e + 0x6ed9eba1 + schedule(t) + parity(b, c, d) + rotl<u32>(a, 5);
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = next;
  }
  for (let t = 40; t < 60; t++) {
    const next = e + 0x8f1bbcdc + schedule(t) + maj(b, c, d) + rotl<u32>(a, 5);
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = next;
  }
  for (let t = 60; t < 80; t++) {
    const next = e + 0xca62c1d6 + schedule(t) + parity(b, c, d) + rotl<u32>(a, 5);
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = next;
  }
  store<u32>(out, load<u32>(state) + a);
  store<u32>(out, load<u32>(state, 4) + b, 4);
  store<u32>(out, load<u32>(state, 8) + c, 8);
  store<u32>(out, load<u32>(state, 12) + d, 12);
  store<u32>(out, load<u32>(state, 16) + e, 16);
}

// @ts-ignore: decorator
@inline function ring(t: i32): usize {
  return SHA1_SCHEDULE + (<usize>(t & 15) << 2);
}

/** W[t] = rotl(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16], 1), stored over W[t-16] in the ring. */
// @ts-ignore: decorator
@inline function schedule(t: i32): u32 {
  const w = rotl<u32>(load<u32>(ring(t - 3)) ^ load<u32>(ring(t - 8)) ^ load<u32>(ring(t - 14)) ^ load<u32>(ring(t)), 1);
  store<u32>(ring(t), w);
  return w;
}
