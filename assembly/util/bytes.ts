// Byte-string helpers. Strings in the module are (pointer, length) pairs of raw bytes, and its literals are byte
// strings too (Ascii, below): there is no AssemblyScript string (UTF-16) in the module.

/**
 * A string literal as the module stores it: the address of its length (one byte, 0..255) followed by its bytes. Every
 * "..." in assembly/ is one: scripts/ascii-literals.mjs (an asc transform, asconfig.json) rewrites them at compile
 * time, so `log("Receive : ")` passes an Ascii. Characters are bytes (Latin-1); a literal is at most 255 of them.
 */
export type Ascii = usize;

/** The literal's length in bytes. */
// @ts-ignore: decorator
@inline export function asciiLength(literal: Ascii): i32 {
  return <i32>load<u8>(literal);
}

/** The address of the literal's first byte. */
// @ts-ignore: decorator
@inline export function asciiData(literal: Ascii): usize {
  return literal + 1;
}

/** a[0..aLength) equals b[0..bLength). Word by word: names and URIs are short, a bulk call would cost more. */
export function bytesEqual(a: usize, aLength: i32, b: usize, bLength: i32): bool {
  if (aLength != bLength) return false;
  let i = 0;
  for (; i + 8 <= aLength; i += 8) {
    if (load<u64>(a + i) != load<u64>(b + i)) return false;
  }
  for (; i < aLength; i++) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
  }
  return true;
}

/** Copies a short byte string (names) word by word; the regions must not overlap. */
export function copySmall(destination: usize, source: usize, length: i32): void {
  let i = 0;
  for (; i + 8 <= length; i += 8) store<u64>(destination + i, load<u64>(source + i));
  for (; i < length; i++) store<u8>(destination + i, load<u8>(source + i));
}

/** The bytes equal a literal. */
export function bytesEqualAscii(pointer: usize, length: i32, literal: Ascii): bool {
  return bytesEqual(pointer, length, asciiData(literal), asciiLength(literal));
}

/** The bytes start with a literal. */
export function bytesStartWithAscii(pointer: usize, length: i32, literal: Ascii): bool {
  if (length < asciiLength(literal)) return false;
  return bytesEqual(pointer, asciiLength(literal), asciiData(literal), asciiLength(literal));
}

/** Index of the first `byte` in [from, length), or -1. */
export function indexOfByte(pointer: usize, length: i32, byte: i32, from: i32 = 0): i32 {
  for (let i = from; i < length; i++) {
    if (<i32>load<u8>(pointer + i) == byte) return i;
  }
  return -1;
}

/** Index of the first occurrence of a literal in [from, length), or -1. */
export function indexOfAscii(pointer: usize, length: i32, literal: Ascii, from: i32 = 0): i32 {
  const needleLength = asciiLength(literal);
  if (needleLength == 0) return from;
  const needle = asciiData(literal);
  const first = <i32>load<u8>(needle);
  const last = length - needleLength;
  for (let i = from; i <= last; i++) {
    if (<i32>load<u8>(pointer + i) != first) continue;
    if (memory.compare(pointer + i, needle, <usize>needleLength) == 0) return i;
  }
  return -1;
}

/** Lowercase hexadecimal digit of a nibble. */
// @ts-ignore: decorator
@inline export function hexDigit(nibble: i32): i32 {
  return nibble < 10 ? 0x30 + nibble : 0x57 + nibble;
}

/** Value of a hexadecimal digit (either case), or -1. */
export function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Writes `length` bytes as 2·length lowercase hex digits at `out`. */
export function writeHex(pointer: usize, length: i32, out: usize): void {
  for (let i = 0; i < length; i++) {
    const b = <i32>load<u8>(pointer + i);
    store<u8>(out + (i << 1), hexDigit(b >> 4));
    store<u8>(out + (i << 1) + 1, hexDigit(b & 15));
  }
}

/** Copies the literal to `out`; returns its length. The caller guarantees the room. */
export function writeAscii(out: usize, literal: Ascii): i32 {
  const length = asciiLength(literal);
  memory.copy(out, asciiData(literal), <usize>length);
  return length;
}
