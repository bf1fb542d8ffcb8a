// HMAC-SHA-1 (RFC 2104). Keying hashes the padded key block once into two saved states (HMAC_INNER, HMAC_OUTER);
// each message then starts from a copy of the inner state, so a key used many times (SCRAM, PBKDF2) costs its pad
// blocks only once. One key at a time.

import { HMAC_INNER, HMAC_INNER_DIGEST, HMAC_OUTER, HMAC_PAD, HMAC_WORK } from "../memory-map";
import { sha1, SHA1_BLOCK_LENGTH, SHA1_DIGEST_LENGTH, sha1Copy, sha1Final, sha1Init, sha1Update } from "./sha1";

export const HMAC_SHA1_LENGTH: i32 = SHA1_DIGEST_LENGTH;

/** Sets the key. A key longer than the block is replaced by its digest, as the RFC says. */
export function hmacSha1Key(key: usize, keyLength: i32): void {
  memory.fill(HMAC_PAD, 0, <usize>SHA1_BLOCK_LENGTH);
  if (keyLength > SHA1_BLOCK_LENGTH) {
    sha1(HMAC_WORK, key, keyLength, HMAC_PAD);
  } else if (keyLength > 0) {
    memory.copy(HMAC_PAD, key, <usize>keyLength);
  }
  for (let i: usize = 0; i < <usize>SHA1_BLOCK_LENGTH; i += 8) store<u64>(HMAC_PAD + i, load<u64>(HMAC_PAD + i) ^ 0x3636363636363636);
  sha1Init(HMAC_INNER);
  sha1Update(HMAC_INNER, HMAC_PAD, SHA1_BLOCK_LENGTH);
  for (let i: usize = 0; i < <usize>SHA1_BLOCK_LENGTH; i += 8) store<u64>(HMAC_PAD + i, load<u64>(HMAC_PAD + i) ^ 0x6a6a6a6a6a6a6a6a); // 0x36 ^ 0x5c
  sha1Init(HMAC_OUTER);
  sha1Update(HMAC_OUTER, HMAC_PAD, SHA1_BLOCK_LENGTH);
  memory.fill(HMAC_PAD, 0, <usize>SHA1_BLOCK_LENGTH); // no copy of the key lingers
}

/** Starts a message under the current key. */
export function hmacSha1Begin(): void {
  sha1Copy(HMAC_WORK, HMAC_INNER);
}

export function hmacSha1Update(pointer: usize, length: i32): void {
  sha1Update(HMAC_WORK, pointer, length);
}

/** Writes the 20-byte MAC at `out`. */
export function hmacSha1End(out: usize): void {
  sha1Final(HMAC_WORK, HMAC_INNER_DIGEST);
  sha1Copy(HMAC_WORK, HMAC_OUTER);
  sha1Update(HMAC_WORK, HMAC_INNER_DIGEST, SHA1_DIGEST_LENGTH);
  sha1Final(HMAC_WORK, out);
}

/** One-shot HMAC-SHA-1 of the message under the key, into `out`. */
export function hmacSha1(key: usize, keyLength: i32, message: usize, messageLength: i32, out: usize): void {
  hmacSha1Key(key, keyLength);
  hmacSha1Begin();
  hmacSha1Update(message, messageLength);
  hmacSha1End(out);
}
