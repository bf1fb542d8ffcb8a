// PBKDF2-HMAC-SHA-1 (RFC 8018 §5.2), for SCRAM's SaltedPassword. After the first HMAC of each output block, every
// iteration hashes a 20-byte message after a key block: both HMAC halves are then exactly one more compression over
// the same padded block, so the loop is two compressions from the saved inner and outer states, with no copies.

import { HMAC_INNER, HMAC_OUTER, PBKDF2_BLOCK, PBKDF2_STATE, PBKDF2_SUM } from "../memory-map";
import { hmacSha1Begin, hmacSha1End, hmacSha1Key, hmacSha1Update } from "./hmac";
import { SHA1_DIGEST_LENGTH, sha1Compress, sha1StateBytes } from "./sha1";

/** The derived key of `outLength` bytes at `out`. `iterations` >= 1. */
export function pbkdf2Sha1(password: usize, passwordLength: i32, salt: usize, saltLength: i32, iterations: i32, out: usize, outLength: i32): void {
  assert(iterations >= 1 && outLength >= 0);
  hmacSha1Key(password, passwordLength);
  // The padded block: the 20-byte message, 0x80, zeros, the bit length of key block + message (84 bytes).
  memory.fill(PBKDF2_BLOCK, 0, 64);
  store<u8>(PBKDF2_BLOCK + SHA1_DIGEST_LENGTH, 0x80);
  store<u64>(PBKDF2_BLOCK + 56, bswap<u64>(<u64>(64 + SHA1_DIGEST_LENGTH) << 3));
  const blocks = (outLength + SHA1_DIGEST_LENGTH - 1) / SHA1_DIGEST_LENGTH;
  for (let index = 1; index <= blocks; index++) {
    // U1 = HMAC(password, salt || INT(index)), straight into the block.
    hmacSha1Begin();
    hmacSha1Update(salt, saltLength);
    store<u32>(PBKDF2_STATE, bswap<u32>(<u32>index));
    hmacSha1Update(PBKDF2_STATE, 4);
    hmacSha1End(PBKDF2_BLOCK);
    let t0 = load<u32>(PBKDF2_BLOCK), t1 = load<u32>(PBKDF2_BLOCK, 4), t2 = load<u32>(PBKDF2_BLOCK, 8);
    let t3 = load<u32>(PBKDF2_BLOCK, 12), t4 = load<u32>(PBKDF2_BLOCK, 16);
    for (let i = 1; i < iterations; i++) {
      sha1Compress(HMAC_INNER, PBKDF2_BLOCK, PBKDF2_STATE);
      sha1StateBytes(PBKDF2_STATE, PBKDF2_BLOCK);
      sha1Compress(HMAC_OUTER, PBKDF2_BLOCK, PBKDF2_STATE);
      sha1StateBytes(PBKDF2_STATE, PBKDF2_BLOCK);
      // XOR is bytewise, so the sum can stay in words whatever their byte order.
      t0 ^= load<u32>(PBKDF2_BLOCK);
      t1 ^= load<u32>(PBKDF2_BLOCK, 4);
      t2 ^= load<u32>(PBKDF2_BLOCK, 8);
      t3 ^= load<u32>(PBKDF2_BLOCK, 12);
      t4 ^= load<u32>(PBKDF2_BLOCK, 16);
    }
    store<u32>(PBKDF2_SUM, t0);
    store<u32>(PBKDF2_SUM, t1, 4);
    store<u32>(PBKDF2_SUM, t2, 8);
    store<u32>(PBKDF2_SUM, t3, 12);
    store<u32>(PBKDF2_SUM, t4, 16);
    const offset = (index - 1) * SHA1_DIGEST_LENGTH;
    memory.copy(out + <usize>offset, PBKDF2_SUM, <usize>min(SHA1_DIGEST_LENGTH, outLength - offset));
  }
}
