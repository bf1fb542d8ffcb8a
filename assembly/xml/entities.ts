// Character-level XML rules shared by both readers: which code points are XML characters, the five predefined
// entities and numeric character references (no other entity exists: there is no DTD, ever), and UTF-8 encoding.

/** Results of entityCodepoint that are not code points. */
export const ENTITY_UNKNOWN: i32 = -1;
export const ENTITY_BAD_REFERENCE: i32 = -2;

/** XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
export function isXmlChar(codepoint: u32): bool {
  if (codepoint < 0x20) return codepoint == 0x9 || codepoint == 0xa || codepoint == 0xd;
  if (codepoint < 0xd800) return true;
  if (codepoint < 0xe000) return false;
  if (codepoint < 0x10000) return codepoint != 0xfffe && codepoint != 0xffff;
  return codepoint <= 0x10ffff;
}

/**
 * The code point named by the entity body between '&' and ';' (e.g. "amp", "#38", "#x26"), ENTITY_UNKNOWN for a name
 * that is not one of the five, or ENTITY_BAD_REFERENCE for a numeric reference that is malformed or not an XML Char.
 */
export function entityCodepoint(pointer: usize, length: i32): i32 {
  if (length == 0) return ENTITY_UNKNOWN;
  if (load<u8>(pointer) != 0x23) {
    // The five names, compared as little-endian words: "lt" "gt" "amp" "apos" "quot".
    if (length == 2) {
      const name = load<u16>(pointer);
      if (name == 0x746c) return 0x3c;
      if (name == 0x7467) return 0x3e;
    } else if (length == 3) {
      if (load<u16>(pointer) == 0x6d61 && load<u8>(pointer, 2) == 0x70) return 0x26;
    } else if (length == 4) {
      const name = load<u32>(pointer);
      if (name == 0x736f7061) return 0x27;
      if (name == 0x746f7571) return 0x22;
    }
    return ENTITY_UNKNOWN;
  }
  let i = 1;
  let hex = false;
  if (i < length && load<u8>(pointer + i) == 0x78) {
    hex = true;
    i++;
  }
  if (i == length) return ENTITY_BAD_REFERENCE;
  let value: u32 = 0;
  for (; i < length; i++) {
    const c = <i32>load<u8>(pointer + i);
    let digit: i32;
    if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
    else if (hex && c >= 0x61 && c <= 0x66) digit = c - 0x57;
    else if (hex && c >= 0x41 && c <= 0x46) digit = c - 0x37;
    else return ENTITY_BAD_REFERENCE;
    value = value * (hex ? 16 : 10) + <u32>digit;
    if (value > 0x10ffff) return ENTITY_BAD_REFERENCE;
  }
  if (!isXmlChar(value)) return ENTITY_BAD_REFERENCE;
  return <i32>value;
}

/** Bytes in the UTF-8 encoding of a code point. */
export function utf8Length(codepoint: u32): i32 {
  if (codepoint < 0x80) return 1;
  if (codepoint < 0x800) return 2;
  if (codepoint < 0x10000) return 3;
  return 4;
}

/** Writes the UTF-8 encoding of a valid code point at `out`; returns its length. */
export function utf8Encode(codepoint: u32, out: usize): i32 {
  if (codepoint < 0x80) {
    store<u8>(out, <u8>codepoint);
    return 1;
  }
  if (codepoint < 0x800) {
    store<u8>(out, <u8>(0xc0 | (codepoint >> 6)));
    store<u8>(out, <u8>(0x80 | (codepoint & 0x3f)), 1);
    return 2;
  }
  if (codepoint < 0x10000) {
    store<u8>(out, <u8>(0xe0 | (codepoint >> 12)));
    store<u8>(out, <u8>(0x80 | ((codepoint >> 6) & 0x3f)), 1);
    store<u8>(out, <u8>(0x80 | (codepoint & 0x3f)), 2);
    return 3;
  }
  store<u8>(out, <u8>(0xf0 | (codepoint >> 18)));
  store<u8>(out, <u8>(0x80 | ((codepoint >> 12) & 0x3f)), 1);
  store<u8>(out, <u8>(0x80 | ((codepoint >> 6) & 0x3f)), 2);
  store<u8>(out, <u8>(0x80 | (codepoint & 0x3f)), 3);
  return 4;
}
