// The firmware's XML reader (xmlparser.mtl, rev 18673; spec §11.1): a substring matcher, reproduced with its quirks.
//
// It is re-run on the accumulated receive buffer and reads one item off the front:
//   - not '<': a text item up to the next '<';
//   - E = first '>', P = first space anywhere (none: E + 1); no '>' yet: incomplete;
//   - E < P: a tag without attributes; its content runs to the FIRST "</name>" anywhere after it (none: incomplete),
//     so "<x/>" is the element "x/" that never closes (quirk xml-empty-noattr);
//   - else the name ends at P and the attributes lie between P + 1 and the first "</name>" (or the end); "/>" makes an
//     empty element whose rest is cut at that "</name>" (xml-empty-truncate); ">" needs the "</name>" (incomplete
//     without it). Attributes are a='v' or a="v" separated by single spaces; anything else crashed the rabbit
//     (xml-attr-syntax).
// Content is read into children by the same rules; where a child is incomplete, the rest of the content becomes one
// text node. Text and values are kept raw (xml-no-entities). The original recursed; this reader keeps an explicit
// stack of content regions, bounded by XML_DEPTH_MAX.
//
// Each quirk can be switched off on its own (quirks.ts); the reader then does the correct thing for that case.

import { FW_READER_RECORD_SIZE, FW_READER_STACK, XML_DEPTH_MAX } from "../memory-map";
import { quirk, QUIRK_XML_ATTR_SYNTAX, QUIRK_XML_EMPTY_NOATTR, QUIRK_XML_EMPTY_TRUNCATE, QUIRK_XML_NESTED_SAME, QUIRK_XML_NO_ENTITIES } from "../quirks";
import { indexOfByte } from "../util/bytes";
import { ENTITY_BAD_REFERENCE, ENTITY_UNKNOWN, entityCodepoint, utf8Encode } from "./entities";
import { treeAddAttribute, treeAddText, treeAddTextAt, treeBegin, treeCloseElement, treeHeader, treeOpenElement, treeReserve, treeShrinkLast } from "./tree";

/** fwReadElement results. */
export const FW_INCOMPLETE: i32 = 0;
/** A whole element is in the tree; the buffer's rest is [fwRestStart, fwRestEnd). */
export const FW_ELEMENT: i32 = 1;
/** The buffer starts with a text item of fwTextLength bytes. */
export const FW_TEXT: i32 = 2;
/** Attribute syntax the firmware could not survive (it recursed until the device crashed). */
export const FW_ATTRIBUTE_SYNTAX: i32 = -1;
/** The stanza does not fit the tree, or nests deeper than XML_DEPTH_MAX. */
export const FW_TOO_LARGE: i32 = -2;
/** firmware_read was given a slot outside 0 .. TREE_SLOTS - 1: nothing was read. */
export const FW_BAD_SLOT: i32 = -3;

export let fwRestStart: i32 = 0;
export let fwRestEnd: i32 = 0;
export let fwTextLength: i32 = 0;

// One item, as classified by readItem.
const ITEM_TEXT: i32 = 1;
const ITEM_ELEMENT: i32 = 2;
const ITEM_INCOMPLETE: i32 = 3;
const ITEM_SYNTAX: i32 = 4;

let itemEnd: i32 = 0; //          text: end of the text
let itemNameStart: i32 = 0;
let itemNameLength: i32 = 0;
let itemAttributesStart: i32 = -1; // -1: no attributes
let itemAttributesEnd: i32 = 0; // bound of the attribute region
let itemContentStart: i32 = -1; //   -1: empty element
let itemContentEnd: i32 = 0;
let itemRestStart: i32 = 0;
let itemRestEnd: i32 = 0;

// Result of scanAttributes.
const TAG_END: i32 = 1; //     '>' at scanStop
const TAG_EMPTY: i32 = 2; //   "/>" at scanStop
let scanStop: i32 = 0;

/**
 * Reads one item off the front of buffer[0, length) into `tree`. Returns FW_ELEMENT, FW_TEXT, FW_INCOMPLETE or a
 * negative FW_* error.
 */
export function fwReadElement(buffer: usize, length: i32, tree: usize): i32 {
  const kind = readItem(buffer, 0, length);
  if (kind == ITEM_INCOMPLETE) return FW_INCOMPLETE;
  if (kind == ITEM_SYNTAX) return FW_ATTRIBUTE_SYNTAX;
  if (kind == ITEM_TEXT) {
    fwTextLength = itemEnd;
    return FW_TEXT;
  }
  treeBegin(tree);
  fwRestStart = itemRestStart;
  fwRestEnd = itemRestEnd;
  if (!addElement(buffer, tree)) return FW_TOO_LARGE;
  let depth = 0;
  if (itemContentStart >= 0) {
    pushRegion(depth++, itemContentStart, itemContentEnd);
  } else {
    treeCloseElement(tree);
  }
  // Depth-first over content regions; every pass consumes part of a region or closes one.
  while (depth > 0) {
    const frame = FW_READER_STACK + <usize>(depth - 1) * <usize>FW_READER_RECORD_SIZE;
    const position = load<i32>(frame);
    const end = load<i32>(frame, 4);
    if (position >= end) {
      depth--;
      treeCloseElement(tree);
      continue;
    }
    const child = readItem(buffer, position, end);
    if (child == ITEM_SYNTAX) return FW_ATTRIBUTE_SYNTAX;
    if (child == ITEM_TEXT || child == ITEM_INCOMPLETE) {
      const textEnd = child == ITEM_TEXT ? itemEnd : end;
      if (!addText(buffer + position, textEnd - position, tree)) return FW_TOO_LARGE;
      store<i32>(frame, textEnd);
      continue;
    }
    if (!addElement(buffer, tree)) return FW_TOO_LARGE;
    store<i32>(frame, itemRestStart);
    store<i32>(frame, itemRestEnd, 4);
    if (itemContentStart >= 0) {
      if (depth >= XML_DEPTH_MAX) return FW_TOO_LARGE;
      pushRegion(depth++, itemContentStart, itemContentEnd);
    } else {
      treeCloseElement(tree);
    }
  }
  return treeHeader(tree).overflowed ? FW_TOO_LARGE : FW_ELEMENT;
}

function pushRegion(depth: i32, start: i32, end: i32): void {
  const frame = FW_READER_STACK + <usize>depth * <usize>FW_READER_RECORD_SIZE;
  store<i32>(frame, start);
  store<i32>(frame, end, 4);
}

/** Classifies the item at buffer[start, end), filling the item* variables. No side effect on any tree. */
function readItem(buffer: usize, start: i32, end: i32): i32 {
  if (load<u8>(buffer + start) != 0x3c) {
    const lessThan = indexOfByte(buffer, end, 0x3c, start);
    itemEnd = lessThan < 0 ? end : lessThan;
    return ITEM_TEXT;
  }
  const e = indexOfByte(buffer, end, 0x3e, start);
  if (e < 0) return ITEM_INCOMPLETE;
  let p = indexOfByte(buffer, end, 0x20, start);
  if (p < 0) p = e + 1;

  itemAttributesStart = -1;
  itemContentStart = -1;
  itemRestEnd = end;
  if (e < p) {
    // A tag without attributes: the name is everything between '<' and '>'.
    itemNameStart = start + 1;
    itemNameLength = e - start - 1;
    if (!quirk(QUIRK_XML_EMPTY_NOATTR) && itemNameLength > 0 && load<u8>(buffer + e - 1) == 0x2f) {
      itemNameLength--;
      itemRestStart = e + 1;
      return ITEM_ELEMENT;
    }
    const close = findClose(buffer, e + 1, end);
    if (close < 0) return ITEM_INCOMPLETE;
    itemContentStart = e + 1;
    itemContentEnd = close;
    itemRestStart = close + itemNameLength + 3;
    return ITEM_ELEMENT;
  }

  itemNameStart = start + 1;
  itemNameLength = p - start - 1;
  // The attribute region ends at the element's closing tag (or the end of the buffer).
  const close = findClose(buffer, p + 1, end);
  const regionEnd = close < 0 ? end : close;
  const tag = scanAttributes(buffer, p + 1, regionEnd, false, 0);
  if (tag == ITEM_SYNTAX || tag == ITEM_INCOMPLETE) return tag;
  itemAttributesStart = p + 1;
  itemAttributesEnd = regionEnd;
  if (tag == TAG_EMPTY) {
    itemRestStart = scanStop + 2;
    if (quirk(QUIRK_XML_EMPTY_TRUNCATE)) itemRestEnd = regionEnd;
    return ITEM_ELEMENT;
  }
  if (close < 0) return ITEM_INCOMPLETE;
  itemContentStart = scanStop + 1;
  itemContentEnd = close;
  itemRestStart = close + itemNameLength + 3;
  return ITEM_ELEMENT;
}

/**
 * Position of the "</name>" that closes the current item's element, searching buffer[from, end): the first one
 * (quirk xml-nested-same), or the one that balances nested elements of the same name.
 */
function findClose(buffer: usize, from: i32, end: i32): i32 {
  const name = buffer + itemNameStart;
  const nameLength = itemNameLength;
  let nesting = 0;
  const nested = !quirk(QUIRK_XML_NESTED_SAME);
  for (let i = from; i + nameLength + 2 < end; i++) {
    if (load<u8>(buffer + i) != 0x3c) continue;
    if (load<u8>(buffer + i + 1) == 0x2f) {
      if (load<u8>(buffer + i + 2 + nameLength) == 0x3e && memory.compare(buffer + i + 2, name, <usize>nameLength) == 0) {
        if (nesting == 0) return i;
        nesting--;
      }
    } else if (nested && memory.compare(buffer + i + 1, name, <usize>nameLength) == 0) {
      // An opening of the same name nests unless it closes itself.
      const after = <i32>load<u8>(buffer + i + 1 + nameLength);
      if (after == 0x3e || after == 0x20 || after == 0x09 || after == 0x0a || after == 0x0d) {
        const tagEnd = indexOfByte(buffer, end, 0x3e, i + 1);
        if (tagEnd > 0 && load<u8>(buffer + tagEnd - 1) != 0x2f) nesting++;
      }
    }
  }
  return -1;
}

// @ts-ignore: decorator
@inline function isSpace(c: i32, strict: bool): bool {
  return c == 0x20 || (!strict && (c == 0x09 || c == 0x0a || c == 0x0d));
}

/**
 * Walks the attributes in buffer[start, end) up to '>' or "/>" (left in scanStop). With `add`, adds each to the tree.
 * Returns TAG_END, TAG_EMPTY, ITEM_INCOMPLETE or ITEM_SYNTAX.
 */
function scanAttributes(buffer: usize, start: i32, end: i32, add: bool, tree: usize): i32 {
  const strict = quirk(QUIRK_XML_ATTR_SYNTAX);
  let i = start;
  // Each pass consumes at least one attribute or ends.
  while (true) {
    while (i < end && isSpace(<i32>load<u8>(buffer + i), strict)) i++;
    if (i >= end) return ITEM_INCOMPLETE;
    const c = <i32>load<u8>(buffer + i);
    if (c == 0x3e) {
      scanStop = i;
      return TAG_END;
    }
    if (c == 0x2f && i + 1 < end && load<u8>(buffer + i + 1) == 0x3e) {
      scanStop = i;
      return TAG_EMPTY;
    }
    const equals = indexOfByte(buffer, end, 0x3d, i);
    if (equals < 0) return ITEM_SYNTAX;
    let nameEnd = equals;
    let quoteAt = equals + 1;
    if (strict) {
      if (load<u8>(buffer + equals - 1) == 0x20) return ITEM_SYNTAX;
    } else {
      while (nameEnd > i && isSpace(<i32>load<u8>(buffer + nameEnd - 1), false)) nameEnd--;
      while (quoteAt < end && isSpace(<i32>load<u8>(buffer + quoteAt), false)) quoteAt++;
    }
    if (quoteAt >= end) return ITEM_INCOMPLETE;
    const quote = <i32>load<u8>(buffer + quoteAt);
    if (quote != 0x27 && quote != 0x22) return ITEM_SYNTAX;
    const closeQuote = indexOfByte(buffer, end, quote, quoteAt + 1);
    if (closeQuote < 0) return ITEM_INCOMPLETE;
    if (add && !addValue(tree, buffer + i, nameEnd - i, buffer + quoteAt + 1, closeQuote - quoteAt - 1)) {
      return ITEM_SYNTAX;
    }
    i = closeQuote + 1;
  }
}

/** Adds the element classified last, with its attributes. */
function addElement(buffer: usize, tree: usize): bool {
  if (!treeOpenElement(tree, buffer + itemNameStart, itemNameLength, 0, 0, 0, false)) return false;
  if (itemAttributesStart >= 0) {
    const result = scanAttributes(buffer, itemAttributesStart, itemAttributesEnd, true, tree);
    if (result == ITEM_SYNTAX) return false;
  }
  return !treeHeader(tree).overflowed;
}

function addValue(tree: usize, name: usize, nameLength: i32, value: usize, valueLength: i32): bool {
  if (quirk(QUIRK_XML_NO_ENTITIES)) return treeAddAttribute(tree, name, nameLength, value, valueLength);
  const decoded = decodeIntoPool(tree, value, valueLength);
  if (decoded == 0) return false;
  return treeAddAttribute(tree, name, nameLength, decoded, decodedLength);
}

function addText(text: usize, length: i32, tree: usize): bool {
  if (quirk(QUIRK_XML_NO_ENTITIES)) return treeAddText(tree, text, length);
  const decoded = decodeIntoPool(tree, text, length);
  if (decoded == 0) return false;
  return treeAddTextAt(tree, decoded, decodedLength);
}

let decodedLength: i32 = 0;

/**
 * Copies text into the tree's pool with entity and character references decoded (an unknown or malformed reference
 * is kept as it is). Returns the copy's address (length in decodedLength) or 0 if the pool is full.
 */
function decodeIntoPool(tree: usize, source: usize, length: i32): usize {
  const out = treeReserve(tree, length);
  if (out == 0) return 0;
  let written = 0;
  let i = 0;
  while (i < length) {
    const c = <i32>load<u8>(source + i);
    if (c == 0x26) {
      const semicolon = indexOfByte(source, min(length, i + 12), 0x3b, i + 1);
      if (semicolon > 0) {
        const codepoint = entityCodepoint(source + i + 1, semicolon - i - 1);
        if (codepoint != ENTITY_UNKNOWN && codepoint != ENTITY_BAD_REFERENCE) {
          // A reference is never shorter than its UTF-8 encoding ("&#x10000;" is 9 bytes for 4), so it fits.
          written += utf8Encode(<u32>codepoint, out + written);
          i = semicolon + 1;
          continue;
        }
      }
    }
    store<u8>(out + written, <u8>c);
    written++;
    i++;
  }
  treeShrinkLast(tree, length, written);
  decodedLength = written;
  return out;
}
