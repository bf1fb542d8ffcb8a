// The XML stream tokenizer for XMPP (RFC 6120 §11): a pull parser over whatever chunks TCP delivers.
//
//   xmlReset()                 start a new stream (also after the SASL restart)
//   xmlFeed(pointer, length)   hand over the next chunk; it must stay in place until xmlNext returns XML_NEED_MORE
//   xmlNext()                  the next event kind (data in XML_EVENT), XML_NEED_MORE, or a negative error
//
// Events, in order: STREAM_START for the root (the stream header), then one ATTRIBUTE per attribute; per element
// ELEMENT_START, its ATTRIBUTEs, its content (TEXT, child elements), ELEMENT_END (right after the attributes for an
// empty element); STREAM_END for </stream:stream>. Character data, CDATA and references next to each other form one
// TEXT. Whitespace between stanzas is skipped; other text there is an error. Names keep their prefix
// ("stream:features"); each element also carries its namespace: the URI bound to its prefix, or the default namespace
// in scope.
//
// How it resumes at any byte: markup (a tag, an end tag, a reference, the XML declaration) is parsed by straight-line
// code over contiguous bytes, in place in the chunk. When the chunk ends inside a unit, the unit's bytes so far go to
// XML_CARRY, the rest follows from the next chunks, and the same code parses it from there: a split cannot change the
// result. Text is a run of the chunk, copied into XML_TEXT_BUFFER only if the chunk ends inside it or a reference or line end
// changes its bytes. Event data is valid until the next call.
//
// Nothing is allocated; every bound has its own error code; after an error every call returns it until xmlReset.
// Restricted XML (RFC 6120 §11.1): comments, processing instructions, DOCTYPE and entities other than the five
// predefined ones are errors, each with its own code; the XML declaration is skipped at the very start only.

import {
  TREE_ATTR_SIZE,
  XML_ATTR_POOL,
  XML_ATTR_POOL_CAPACITY,
  XML_ATTR_RECORD_SIZE,
  XML_ATTR_TABLE,
  XML_ATTR_VALUE_MAX,
  XML_ATTRS_MAX,
  XML_CARRY,
  XML_CARRY_CAPACITY,
  XML_CLASS_TABLE,
  XML_DEPTH_MAX,
  XML_EVENT,
  XML_EVENT_SIZE,
  XML_NAME_CAPACITY,
  XML_NS_MAX,
  XML_NS_POOL,
  XML_NS_POOL_CAPACITY,
  XML_NS_RECORD_SIZE,
  XML_NS_TABLE,
  XML_OPEN_POOL,
  XML_OPEN_POOL_CAPACITY,
  XML_OPEN_RECORD_SIZE,
  XML_OPEN_TABLE,
  XML_TEXT_BUFFER,
  XML_TEXT_BUFFER_CAPACITY,
} from "../memory-map";
import { asciiData, bytesEqual, copySmall } from "../util/bytes";
import { ENTITY_BAD_REFERENCE, ENTITY_UNKNOWN, entityCodepoint, isXmlChar, utf8Encode, utf8Length } from "./entities";
import { treeAddAttributes, treeAddText, treeBegin, treeCloseElement, treeHeader, treeOpenElement } from "./tree";

// ---------------------------------------------------------------------------------------------------------------------
// Results of xmlNext: event kinds (>= 0) and errors (< 0). host/xml.ts mirrors these lists.

export const XML_NEED_MORE: i32 = 0;
export const XML_STREAM_START: i32 = 1;
export const XML_ELEMENT_START: i32 = 2;
export const XML_ATTRIBUTE: i32 = 3;
export const XML_ELEMENT_END: i32 = 4;
export const XML_TEXT: i32 = 5;
export const XML_STREAM_END: i32 = 6;

export const XML_ERROR_MALFORMED: i32 = -1;
export const XML_ERROR_MISMATCHED_TAG: i32 = -2;
export const XML_ERROR_UNQUOTED_ATTRIBUTE: i32 = -3;
export const XML_ERROR_LT_IN_ATTRIBUTE: i32 = -4;
export const XML_ERROR_BAD_CHARACTER_REFERENCE: i32 = -5;
export const XML_ERROR_BAD_ENTITY: i32 = -6;
export const XML_ERROR_UNKNOWN_ENTITY: i32 = -7;
export const XML_ERROR_DOCTYPE: i32 = -8;
export const XML_ERROR_COMMENT: i32 = -9;
export const XML_ERROR_PROCESSING_INSTRUCTION: i32 = -10;
export const XML_ERROR_INVALID_UTF8: i32 = -11;
export const XML_ERROR_INVALID_CHARACTER: i32 = -12;
export const XML_ERROR_TOO_DEEP: i32 = -13;
export const XML_ERROR_NAME_TOO_LONG: i32 = -14;
export const XML_ERROR_TOO_MANY_ATTRIBUTES: i32 = -15;
export const XML_ERROR_ATTRIBUTE_TOO_LONG: i32 = -16;
export const XML_ERROR_TEXT_TOO_LONG: i32 = -17;
export const XML_ERROR_TAG_TOO_LARGE: i32 = -18;
export const XML_ERROR_DUPLICATE_ATTRIBUTE: i32 = -19;
export const XML_ERROR_UNBOUND_PREFIX: i32 = -20;
export const XML_ERROR_TOO_MANY_NAMESPACES: i32 = -21;
export const XML_ERROR_TEXT_OUTSIDE_STANZA: i32 = -22;
export const XML_ERROR_CDATA_END_IN_TEXT: i32 = -23;

/** xmlFeed result when the previous chunk was not consumed yet. */
export const XML_FEED_PENDING: i32 = -1;
/** xmlFeed result for a chunk that does not lie in memory with OVER_READ bytes to spare after it. */
export const XML_FEED_OUT_OF_BOUNDS: i32 = -2;

/**
 * The fast paths load whole words: up to 7 bytes past the last byte they need. Those bytes are never used, but they
 * must be inside the memory, so a chunk must end at least this far before its end (static buffers always do: the
 * arena ends well before the memory does).
 */
const OVER_READ: usize = 8;

// Internal results of the unit parsers, beside event kinds and errors.
const UNIT_INCOMPLETE: i32 = 100; // the unit runs past the end of the bytes given
const UNIT_NO_EVENT: i32 = 101; //   consumed, nothing to deliver (XML declaration, CDATA opening, reference)

/**
 * The current event, at XML_EVENT (XML_EVENT_SIZE bytes; host/xml.ts reads the same layout). Name and value come
 * first in the order of an attribute record, so delivering an attribute copies its record as two words.
 */
@unmanaged
export class XmlEvent {
  kind: i32; //            0
  level: i32; //           4  root = 0, stanzas = 1, their children = 2, ...
  namePointer: u32; //     8  element or attribute name, prefix included
  nameLength: i32; //     12
  valuePointer: u32; //   16  attribute value or text
  valueLength: i32; //    20
  prefixLength: i32; //   24  bytes before the ':' of a prefixed element name, else 0
  nsPointer: u32; //      28  element namespace URI (START, END)
  nsLength: i32; //       32
  attributeCount: i32; // 36  START: attributes that follow
  attributeIndex: i32; // 40  ATTRIBUTE: 0-based index
}

assert(offsetof<XmlEvent>() == <usize>XML_EVENT_SIZE);

// ---------------------------------------------------------------------------------------------------------------------
// Byte classes

const C_TEXT: u8 = 1; //   plain character data: 0x20..0x7f except < & ]
const C_VALUE: u8 = 2; //  plain attribute value: 0x20..0x7f except < & ' "
const C_NAME: u8 = 4; //   ASCII name character: A-Z a-z 0-9 - . _ :
const C_START: u8 = 8; //  ASCII name start: A-Z a-z _ :
const C_SPACE: u8 = 16; // XML whitespace: space, tab, LF, CR
const C_CDATA: u8 = 32; // plain CDATA: 0x20..0x7f except ]

/** Fills the class table; called once at module start. */
export function xmlSetup(): void {
  for (let c = 0; c < 256; c++) {
    let flags: u8 = 0;
    const printable = c >= 0x20 && c < 0x80;
    if (printable && c != 0x3c && c != 0x26 && c != 0x5d) flags |= C_TEXT;
    if (printable && c != 0x3c && c != 0x26 && c != 0x27 && c != 0x22) flags |= C_VALUE;
    if (printable && c != 0x5d) flags |= C_CDATA;
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (letter || c == 0x5f || c == 0x3a) flags |= C_START | C_NAME;
    if ((c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2e) flags |= C_NAME;
    if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) flags |= C_SPACE;
    store<u8>(XML_CLASS_TABLE + c, flags);
  }
  xmlReset();
}

// @ts-ignore: decorator
@inline function classOf(c: i32): i32 {
  return <i32>load<u8>(XML_CLASS_TABLE + c);
}

// Eight bytes at a time (SWAR: portable, no SIMD asked of the host). For a word of eight input bytes each function
// sets the top bit of the lowest matching byte (higher bytes may be flagged spuriously, never lower ones), so the
// first match is at ctz(mask) / 8.
const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

// @ts-ignore: decorator
@inline function zeroBytes(word: u64): u64 {
  return (word - ONES) & ~word & HIGHS;
}

/** Bytes that end a run of character data: < 0x20, >= 0x80, '<', '&', ']'. */
// @ts-ignore: decorator
@inline function textStops(word: u64): u64 {
  return (word & HIGHS) | ((word - ONES * 0x20) & ~word & HIGHS)
    | zeroBytes(word ^ (ONES * 0x3c)) | zeroBytes(word ^ (ONES * 0x26)) | zeroBytes(word ^ (ONES * 0x5d));
}

/** Bytes that are not a lowercase ASCII letter (0x61..0x7a). */
// @ts-ignore: decorator
@inline function lowercaseStops(word: u64): u64 {
  return (word | (word + ONES * 0x05) | ((word - ONES * 0x61) & ~word)) & HIGHS;
}

/**
 * Bytes that may end a run of an attribute value: < 0x20, >= 0x80, '<', and '"', '#', '&', '\'' (the bytes that differ
 * from '"' only in the bits of 0x05, found by one test). The quote that does not close the value and '#' are plain
 * bytes, taken one at a time by parseValue; a test that does not depend on the quote keeps its constants constant.
 */
// @ts-ignore: decorator
@inline function valueStops(word: u64): u64 {
  return (word & HIGHS) | ((word - ONES * 0x20) & ~word & HIGHS)
    | zeroBytes(word ^ (ONES * 0x3c)) | zeroBytes((word ^ (ONES * 0x22)) & ~(ONES * 0x05));
}

// ---------------------------------------------------------------------------------------------------------------------
// State

const S_PROLOG: i32 = 0; //        before the root element
const S_STREAM_LEVEL: i32 = 1; //  inside the root, between stanzas
const S_TEXT: i32 = 2; //          character data inside a stanza
const S_CDATA: i32 = 3; //         inside a CDATA section
const S_CARRY: i32 = 4; //         collecting a unit the chunk cut off, in XML_CARRY
const S_DONE: i32 = 5; //          after the root closed: input is ignored
const S_ERROR: i32 = 6;

/** Longest XML declaration accepted. */
const XML_DECLARATION_MAX: i32 = 256;
/** Longest reference, '&' and ';' included ("&#x10FFFF;" is 10). */
const REFERENCE_MAX: i32 = 12;

let state: i32 = S_PROLOG;
let errorCode: i32 = 0;

// Input
let cursor: usize = 0;
let chunkEnd: usize = 0;
/** Nothing has been consumed yet: only now may the XML declaration come. */
let declarationAllowed: bool = true;
/** Set by the unit parsers: the first byte after the unit. */
let unitEnd: usize = 0;

// The carried unit
let carryLength: i32 = 0;
/** The carried bytes have been tried since the last append. */
let carryTried: bool = false;
/** The carried unit reached XML_CARRY_CAPACITY bytes: if its next try is incomplete, it is too large. */
let carryFull: bool = false;

// Text: a run of the chunk, or bytes in XML_TEXT_BUFFER (owned)
let textPointer: usize = 0;
let textLength: i32 = 0;
let textOwned: bool = false;
let afterCarriageReturn: bool = false;
let bracketRun: i32 = 0;

// A UTF-8 sequence in text that the chunk cut off
let utf8Need: i32 = 0;
let utf8Code: u32 = 0;
let utf8Minimum: u32 = 0;

// Open elements
let depth: i32 = 0;
let openPoolUsed: i32 = 0;
let namespaceCount: i32 = 0;
/** Index of the innermost default namespace declaration (xmlns="..."), or -1. */
let defaultNamespace: i32 = -1;
let namespacePoolUsed: i32 = 0;

// The last start tag
let attributeCount: i32 = 0;
let attributePoolUsed: i32 = 0;
let pendingAttribute: i32 = 0;
let pendingAttributeEnd: i32 = 0;
let pendingEnd: bool = false;

// Tree mode: the events build a stanza tree here instead of being delivered one by one (see xmlBuildInto).
let treeTarget: usize = 0;

/** Starts a new stream: forgets everything, including an error. */
export function xmlReset(): void {
  state = S_PROLOG;
  errorCode = 0;
  cursor = 0;
  chunkEnd = 0;
  declarationAllowed = true;
  carryLength = 0;
  carryTried = false;
  carryFull = false;
  textLength = 0;
  textOwned = false;
  afterCarriageReturn = false;
  bracketRun = 0;
  utf8Need = 0;
  depth = 0;
  openPoolUsed = 0;
  namespaceCount = 0;
  defaultNamespace = -1;
  namespacePoolUsed = 0;
  attributeCount = 0;
  attributePoolUsed = 0;
  pendingAttribute = 0;
  pendingAttributeEnd = 0;
  pendingEnd = false;
  treeTarget = 0;
  memory.fill(XML_EVENT, 0, <usize>XML_EVENT_SIZE);
}

/**
 * Hands over the next chunk. Returns 0, XML_FEED_PENDING if the previous chunk is not consumed yet, or
 * XML_FEED_OUT_OF_BOUNDS (nothing taken).
 */
export function xmlFeed(pointer: usize, length: i32): i32 {
  if (cursor < chunkEnd) return XML_FEED_PENDING;
  if (length < 0 || pointer + <usize>length + OVER_READ > (<usize>memory.size() << 16)) return XML_FEED_OUT_OF_BOUNDS;
  cursor = pointer;
  chunkEnd = pointer + <usize>length;
  return 0;
}

/**
 * Tree mode, for tree-builder.ts: from the next xmlNext on, the header and each stanza are built into `tree` (tree.ts)
 * as they are parsed. xmlNext then returns only XML_STREAM_START (the header is in the tree), XML_ELEMENT_END (a whole
 * stanza is), XML_STREAM_END, XML_NEED_MORE or an error; or, with the tree overflowed, the event it could not take.
 * No ATTRIBUTE events, and XML_EVENT is not written. xmlReset ends tree mode.
 */
export function xmlBuildInto(tree: usize): void {
  treeTarget = tree;
}

function fail(code: i32): i32 {
  state = S_ERROR;
  errorCode = code;
  return code;
}

// ---------------------------------------------------------------------------------------------------------------------
// The event loop

/**
 * The next event. Returns its kind (data in XML_EVENT), XML_NEED_MORE when the chunk is used up, or a negative error.
 */
export function xmlNext(): i32 {
  if (state == S_ERROR) return errorCode;
  if (pendingAttribute < pendingAttributeEnd) return emitAttribute(pendingAttribute++);
  if (pendingEnd) {
    pendingEnd = false;
    const ended = emitEnd();
    if (ended != UNIT_NO_EVENT) return ended;
  }
  const end = chunkEnd;
  // Each pass consumes input or delivers an event; the loop is bounded by the chunk's length. A carried unit that
  // got its last bytes is tried even when the chunk is used up.
  while (cursor < end || (state == S_CARRY && !carryTried)) {
    let result: i32;
    if (utf8Need > 0) result = continueUtf8() ? STEP_ON : errorCode;
    else if (state == S_TEXT) result = textStep(end);
    else if (state == S_STREAM_LEVEL || state == S_PROLOG) result = streamLevelStep(end);
    else if (state == S_CDATA) result = cdataStep(end);
    else if (state == S_CARRY) result = continueCarry();
    else {
      // S_DONE: whatever follows the stream's end is ignored.
      cursor = end;
      result = STEP_ON;
    }
    if (result == STEP_ON) continue;
    if (result == STEP_OUT) break;
    return result;
  }
  // The chunk goes back to the host: text still in it is copied.
  if (textLength > 0 && !ownText()) return errorCode;
  return XML_NEED_MORE;
}

// What a step of xmlNext's loop tells it besides an event or an error: go on, or leave the loop (the chunk is used).
const STEP_ON: i32 = UNIT_NO_EVENT;
const STEP_OUT: i32 = 102;

/** Character data and what interrupts it: a tag, a reference, a line end, a bad character. */
// @ts-ignore: decorator
@inline function textStep(end: usize): i32 {
  // Most often a tag follows a tag directly.
  if (textLength == 0 && load<u8>(cursor) == 0x3c) return markupHere();
  // Character data, eight bytes at a time.
  let p = cursor;
  while (p + 8 <= end) {
    const stops = textStops(load<u64>(p));
    if (stops != 0) {
      p += <usize>(ctz(stops) >> 3);
      break;
    }
    p += 8;
  }
  if (p + 8 > end) while (p < end && (classOf(load<u8>(p)) & C_TEXT) != 0) p++;
  if (p > cursor) {
    if (bracketRun >= 2 && load<u8>(cursor) == 0x3e) return fail(XML_ERROR_CDATA_END_IN_TEXT);
    if (!takeText(cursor, <i32>(p - cursor))) return errorCode;
    cursor = p;
    afterCarriageReturn = false;
    bracketRun = 0;
    if (p >= end) return STEP_OUT;
  }
  const c = <i32>load<u8>(p);
  if (c == 0x3c) {
    // A tag ends the text, unless it is a CDATA section ("<!"), which continues it.
    if (textLength > 0 && p + 1 < end && load<u8>(p + 1) != 0x21) return emitText();
    return markupHere();
  }
  if (c == 0x26) {
    const codepoint = parseReference(p, end);
    if (codepoint == UNIT_INCOMPLETE) return startCarry() ? STEP_ON : errorCode;
    if (codepoint < 0 || !putText(<u32>codepoint)) return errorCode;
    cursor = unitEnd;
    return STEP_ON;
  }
  return characterData(c) ? STEP_ON : errorCode;
}

/** Between stanzas (and before the stream): whitespace, then markup. */
// @ts-ignore: decorator
@inline function streamLevelStep(end: usize): i32 {
  let p = cursor;
  while (p < end && (classOf(load<u8>(p)) & C_SPACE) != 0) p++;
  if (p > cursor) declarationAllowed = false;
  cursor = p;
  if (p >= end) return STEP_OUT;
  const c = <i32>load<u8>(p);
  if (c != 0x3c) return fail(c < 0x20 ? XML_ERROR_INVALID_CHARACTER : XML_ERROR_TEXT_OUTSIDE_STANZA);
  return markupHere();
}

/** Inside <![CDATA[ ... ]]>: everything is text up to "]]>". */
function cdataStep(end: usize): i32 {
  if (bracketRun >= 2 && load<u8>(cursor) == 0x3e) {
    // "]]>" ends the section; its two ']' were taken as text and are given back.
    cursor++;
    textLength -= 2;
    bracketRun = 0;
    state = S_TEXT;
    return STEP_ON;
  }
  let p = cursor;
  while (p < end && (classOf(load<u8>(p)) & C_CDATA) != 0) p++;
  if (p > cursor) {
    if (!takeText(cursor, <i32>(p - cursor))) return errorCode;
    cursor = p;
    afterCarriageReturn = false;
    bracketRun = 0;
    return STEP_ON;
  }
  return characterData(<i32>load<u8>(p)) ? STEP_ON : errorCode;
}

/**
 * Parses the markup at the cursor ('<'). Returns an event, an error, or UNIT_NO_EVENT to go on (the unit was consumed,
 * or the chunk ends inside it and it is being carried).
 */
// One limit for every split: the parser reads at most XML_CARRY_CAPACITY bytes of a unit, here as when the unit is
// carried, so a unit the window does not hold is XML_ERROR_TAG_TOO_LARGE whichever way the bytes came.
// @ts-ignore: decorator
@inline function markupHere(): i32 {
  const available = <i32>(chunkEnd - cursor);
  const windowEnd = available > XML_CARRY_CAPACITY ? cursor + <usize>XML_CARRY_CAPACITY : chunkEnd;
  const result = parseMarkup(cursor, windowEnd);
  if (result == UNIT_INCOMPLETE) {
    if (available >= XML_CARRY_CAPACITY) return fail(XML_ERROR_TAG_TOO_LARGE);
    return startCarry() ? UNIT_NO_EVENT : errorCode;
  }
  if (result < 0) return result;
  cursor = unitEnd;
  return result;
}

// ---------------------------------------------------------------------------------------------------------------------
// Carrying a unit across chunks

/** Copies the unit at the cursor, which runs past the chunk's end, into XML_CARRY. */
function startCarry(): bool {
  const length = <i32>(chunkEnd - cursor);
  if (length > XML_CARRY_CAPACITY) {
    fail(load<u8>(cursor) == 0x26 ? XML_ERROR_BAD_ENTITY : XML_ERROR_TAG_TOO_LARGE);
    return false;
  }
  memory.copy(XML_CARRY, cursor, <usize>length);
  carryLength = length;
  carryTried = true;
  carryFull = false;
  cursor = chunkEnd;
  carryReturnState = state;
  state = S_CARRY;
  return true;
}

/** The state to go back to if the carried unit produces no state of its own (a reference in text). */
let carryReturnState: i32 = S_TEXT;

/**
 * One step of a carried unit: try it if it got bytes that may complete it, else give it the chunk's bytes up to the
 * next place it could end ('>' for tags, ';' for references, the 9 bytes of "<![CDATA[" for "<!").
 */
function continueCarry(): i32 {
  const first = <i32>load<u8>(XML_CARRY);
  if (!carryTried) {
    carryTried = true;
    if (first == 0x26) {
      const codepoint = parseReference(XML_CARRY, XML_CARRY + carryLength);
      if (codepoint != UNIT_INCOMPLETE) {
        if (codepoint < 0) return codepoint;
        carryLength = 0;
        state = carryReturnState;
        return putText(<u32>codepoint) ? UNIT_NO_EVENT : errorCode;
      }
    } else {
      // Text before a tag is delivered first; a CDATA section ("<!") continues it instead.
      if (textLength > 0 && carryLength >= 2 && load<u8>(XML_CARRY + 1) != 0x21) {
        carryTried = false;
        return emitText();
      }
      state = carryReturnState;
      const result = parseMarkup(XML_CARRY, XML_CARRY + carryLength);
      if (result != UNIT_INCOMPLETE) {
        // Bytes are only appended up to where the unit may end, so a complete unit ends with the carried bytes.
        assert(result < 0 || unitEnd == XML_CARRY + <usize>carryLength);
        carryLength = 0;
        return result;
      }
      if (carryFull) return fail(XML_ERROR_TAG_TOO_LARGE);
      if (state == carryReturnState) state = S_CARRY;
    }
  }
  // Append up to the next possible end.
  const end = chunkEnd;
  if (cursor >= end) return UNIT_NO_EVENT;
  let take: i32;
  let complete = true;
  if (first == 0x26) {
    // Up to the ';', within the longest reference.
    const limit = min(<i32>(end - cursor), REFERENCE_MAX - carryLength);
    take = 0;
    while (take < limit && load<u8>(cursor + take) != 0x3b) take++;
    if (take < limit) take++;
  } else if (carryLength < 2) {
    take = 1;
  } else if (load<u8>(XML_CARRY + 1) == 0x21) {
    take = min(<i32>(end - cursor), 9 - carryLength);
  } else {
    let p = cursor;
    while (p < end && load<u8>(p) != 0x3e) p++;
    complete = p < end;
    take = <i32>(p - cursor) + (complete ? 1 : 0);
  }
  if (take <= 0 || (first == 0x26 && carryLength + take > XML_CARRY_CAPACITY)) {
    return fail(first == 0x26 ? XML_ERROR_BAD_ENTITY : XML_ERROR_TAG_TOO_LARGE);
  }
  if (first != 0x26 && carryLength + take >= XML_CARRY_CAPACITY) {
    // The window is full: one more try on what it holds (an error inside it is reported as such), then too large.
    take = XML_CARRY_CAPACITY - carryLength;
    if (take <= 0) return fail(XML_ERROR_TAG_TOO_LARGE);
    complete = true;
    carryFull = true;
  }
  memory.copy(XML_CARRY + carryLength, cursor, <usize>take);
  carryLength += take;
  cursor += take;
  carryTried = !complete;
  return UNIT_NO_EVENT;
}

// ---------------------------------------------------------------------------------------------------------------------
// Text

/** Adds input bytes to the text: still a run of the chunk if they follow on, else copied. */
// @ts-ignore: decorator
@inline function takeText(pointer: usize, count: i32): bool {
  if (textLength + count > XML_TEXT_BUFFER_CAPACITY) {
    fail(XML_ERROR_TEXT_TOO_LONG);
    return false;
  }
  if (!textOwned) {
    if (textLength == 0) textPointer = pointer;
    if (textPointer + <usize>textLength == pointer) {
      textLength += count;
      return true;
    }
    if (!ownText()) return false;
  }
  memory.copy(XML_TEXT_BUFFER + <usize>textLength, pointer, <usize>count);
  textLength += count;
  return true;
}

/** Moves the text into XML_TEXT_BUFFER (before its bytes change, or before the chunk goes away). */
// @ts-ignore: decorator
@inline function ownText(): bool {
  if (!textOwned) {
    memory.copy(XML_TEXT_BUFFER, textPointer, <usize>textLength);
    textPointer = XML_TEXT_BUFFER;
    textOwned = true;
  }
  return true;
}

/** Adds a character that is not the input's own bytes (a decoded reference, a normalized line end). */
function putText(codepoint: u32): bool {
  const length = utf8Length(codepoint);
  if (textLength + length > XML_TEXT_BUFFER_CAPACITY) {
    fail(XML_ERROR_TEXT_TOO_LONG);
    return false;
  }
  if (textLength == 0 && !textOwned) textPointer = XML_TEXT_BUFFER;
  ownText();
  utf8Encode(codepoint, XML_TEXT_BUFFER + <usize>textLength);
  textLength += length;
  return true;
}

/**
 * A byte of character data (text or CDATA) that the fast path did not take: ']', tab, line ends (CR LF and a lone CR
 * become LF), or a UTF-8 sequence. Other control characters are errors. Consumes it.
 */
function characterData(c: i32): bool {
  if (c >= 0x80) {
    bracketRun = 0;
    afterCarriageReturn = false;
    const length = utf8At(cursor, chunkEnd);
    if (length < 0) {
      fail(XML_ERROR_INVALID_UTF8);
      return false;
    }
    if (length == 0) {
      // The chunk ends inside the sequence: take what is there, check the rest when it comes.
      const available = <i32>(chunkEnd - cursor);
      startUtf8(c);
      utf8Need -= available - 1;
      for (let i = 1; i < available; i++) utf8Code = (utf8Code << 6) | <u32>(load<u8>(cursor + i) & 0x3f);
      const ok = takeText(cursor, available);
      cursor = chunkEnd;
      return ok;
    }
    const ok = takeText(cursor, length);
    cursor += length;
    return ok;
  }
  cursor++;
  if (c == 0x5d) {
    bracketRun++;
    afterCarriageReturn = false;
    return takeText(cursor - 1, 1);
  }
  bracketRun = 0;
  if (c == 0x0a) {
    if (afterCarriageReturn) {
      afterCarriageReturn = false;
      return true;
    }
    return takeText(cursor - 1, 1);
  }
  if (c == 0x0d) {
    afterCarriageReturn = true;
    return putText(0x0a);
  }
  afterCarriageReturn = false;
  if (c == 0x09) return takeText(cursor - 1, 1);
  fail(XML_ERROR_INVALID_CHARACTER);
  return false;
}

// ---------------------------------------------------------------------------------------------------------------------
// UTF-8

/**
 * Length of the valid UTF-8 sequence at p (lead byte >= 0x80) encoding an XML character; 0 if it runs past `end`,
 * -1 if invalid (stray continuation, overlong, surrogate, beyond U+10FFFF, or not an XML character).
 */
function utf8At(p: usize, end: usize): i32 {
  const lead = <u32>load<u8>(p);
  let need: i32;
  let code: u32;
  let minimum: u32;
  if (lead >= 0xc2 && lead <= 0xdf) {
    need = 1;
    code = lead & 0x1f;
    minimum = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    need = 2;
    code = lead & 0x0f;
    minimum = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    need = 3;
    code = lead & 0x07;
    minimum = 0x10000;
  } else {
    return -1;
  }
  let q = p + 1;
  for (let i = 0; i < need; i++) {
    if (q >= end) return 0;
    const c = <u32>load<u8>(q);
    if ((c & 0xc0) != 0x80) return -1;
    code = (code << 6) | (c & 0x3f);
    q++;
  }
  if (code < minimum || !isXmlChar(code)) return -1;
  return <i32>(q - p);
}

/** Notes the lead byte of a text sequence the chunk cut off (already checked valid by utf8At's prefix). */
function startUtf8(lead: i32): void {
  if (lead <= 0xdf) {
    utf8Need = 1;
    utf8Code = lead & 0x1f;
    utf8Minimum = 0x80;
  } else if (lead <= 0xef) {
    utf8Need = 2;
    utf8Code = lead & 0x0f;
    utf8Minimum = 0x800;
  } else {
    utf8Need = 3;
    utf8Code = lead & 0x07;
    utf8Minimum = 0x10000;
  }
}

/** A continuation byte of a text sequence begun in an earlier chunk. */
function continueUtf8(): bool {
  const c = <i32>load<u8>(cursor);
  if ((c & 0xc0) != 0x80) {
    fail(XML_ERROR_INVALID_UTF8);
    return false;
  }
  utf8Code = (utf8Code << 6) | <u32>(c & 0x3f);
  utf8Need--;
  if (utf8Need == 0 && (utf8Code < utf8Minimum || !isXmlChar(utf8Code))) {
    fail(XML_ERROR_INVALID_UTF8);
    return false;
  }
  cursor++;
  return takeText(cursor - 1, 1);
}

// ---------------------------------------------------------------------------------------------------------------------
// Units: straight-line parsers over [start, end). Each returns an event kind, UNIT_NO_EVENT, UNIT_INCOMPLETE or an
// error, and sets unitEnd when complete. Running into `end` means incomplete; nothing is committed before the unit is
// known to be complete and valid, except by finishStartTag and finishEndTag at the very end.

/** Dispatches on the byte after '<'. */
// @ts-ignore: decorator
@inline function parseMarkup(start: usize, end: usize): i32 {
  if (start + 1 >= end) return UNIT_INCOMPLETE;
  const c = <i32>load<u8>(start + 1);
  if (c == 0x2f) return depth == 0 ? fail(XML_ERROR_MALFORMED) : parseEndTag(start, end);
  if (c == 0x21) return parseBang(start, end);
  if (c == 0x3f) return parseDeclaration(start, end);
  if ((classOf(c) & C_START) != 0 || c >= 0x80) return parseStartTag(start, end);
  return fail(c < 0x20 ? XML_ERROR_INVALID_CHARACTER : XML_ERROR_MALFORMED);
}

/** Why a scanner below returned 0 instead of a position: UNIT_INCOMPLETE or an error. */
let scanStatus: i32 = 0;


/** End of the name starting at p (its first byte is a valid start); `end` if it runs to the end; 0 on bad UTF-8. */
// @ts-ignore: decorator
@inline function scanName(p: usize, end: usize): usize {
  // Most names are lowercase ASCII: a word at a time while it lasts, then byte by byte.
  while (p + 8 <= end) {
    const word = load<u64>(p);
    const stops = lowercaseStops(word);
    if (stops != 0) {
      const shift = ctz(stops) & ~7;
      p += <usize>(shift >> 3);
      // What usually ends a name ('=', space, '>', '/') is told from the word, without a load or the class table.
      const c = <i32>(word >> shift) & 0xff;
      if (c == 0x3d || c == 0x20 || c == 0x3e || c == 0x2f) return p;
      break;
    }
    p += 8;
  }
  while (p < end) {
    const c = <i32>load<u8>(p);
    if ((classOf(c) & C_NAME) != 0) {
      p++;
      continue;
    }
    if (c < 0x80) break;
    const length = utf8At(p, end);
    if (length == 0) return end;
    if (length < 0) {
      scanStatus = fail(XML_ERROR_INVALID_UTF8);
      return 0;
    }
    p += <usize>length;
  }
  return p;
}

// @ts-ignore: decorator
@inline function skipSpace(p: usize, end: usize): usize {
  while (p < end && (classOf(load<u8>(p)) & C_SPACE) != 0) p++;
  return p;
}

// @ts-ignore: decorator
@inline function attributeRecord(index: i32): usize {
  return XML_ATTR_TABLE + <usize>index * <usize>XML_ATTR_RECORD_SIZE;
}

/** A start tag: '<', name, attributes, '>' or "/>". */
function parseStartTag(start: usize, end: usize): i32 {
  let p = start + 1;
  const name = p;
  p = scanName(p, end);
  if (p == 0) return scanStatus;
  const nameLength = <i32>(p - name);
  if (nameLength > XML_NAME_CAPACITY) return fail(XML_ERROR_NAME_TOO_LONG);
  let count = 0;
  attributePoolUsed = 0;
  let selfClosing = false;
  // Each pass reads one attribute or the tag's end.
  while (true) {
    if (p >= end) return UNIT_INCOMPLETE;
    let c = <i32>load<u8>(p);
    if (c == 0x3e) {
      p++;
      break;
    }
    if (c == 0x2f) {
      if (p + 1 >= end) return UNIT_INCOMPLETE;
      if (load<u8>(p + 1) != 0x3e) return fail(XML_ERROR_MALFORMED);
      p += 2;
      selfClosing = true;
      break;
    }
    if (c == 0x20 && p + 1 < end && <u32>(<i32>load<u8>(p + 1) - 0x61) < 26) {
      // The usual: one space, then a lowercase name.
      p++;
    } else {
      if ((classOf(c) & C_SPACE) == 0) return fail(c < 0x20 ? XML_ERROR_INVALID_CHARACTER : XML_ERROR_MALFORMED);
      p++;
      if (p >= end) return UNIT_INCOMPLETE;
      c = <i32>load<u8>(p);
      if ((classOf(c) & C_SPACE) != 0) {
        // More than one space.
        p = skipSpace(p, end);
        if (p >= end) return UNIT_INCOMPLETE;
        c = <i32>load<u8>(p);
      }
      if (c == 0x3e || c == 0x2f) continue;
      if ((classOf(c) & C_START) == 0 && c < 0x80) return fail(c < 0x20 ? XML_ERROR_INVALID_CHARACTER : XML_ERROR_MALFORMED);
    }
    if (count >= XML_ATTRS_MAX) return fail(XML_ERROR_TOO_MANY_ATTRIBUTES);
    p = parseAttribute(p, end, count);
    if (p == 0) return scanStatus;
    count++;
  }
  unitEnd = p;
  attributeCount = count;
  return finishStartTag(name, nameLength, selfClosing);
}

/**
 * One attribute, name='value' (or with spaces around '='), recorded as attribute `index`; returns the position after
 * it, or 0 (the reason in scanStatus).
 */
// @ts-ignore: decorator
@inline function parseAttribute(start: usize, end: usize, index: i32): usize {
  let p = scanName(start, end);
  if (p == 0) return 0;
  const nameLength = <i32>(p - start);
  if (nameLength > XML_NAME_CAPACITY) return scanFail(XML_ERROR_NAME_TOO_LONG);
  // Usually name='value' or name="value" without spaces.
  let q = 0;
  if (p + 1 < end && load<u8>(p) == 0x3d) q = <i32>load<u8>(p + 1);
  if (q == 0x27 || q == 0x22) {
    p++;
  } else {
    p = skipSpace(p, end);
    if (p >= end) return scanIncomplete();
    if (load<u8>(p) != 0x3d) return scanFail(XML_ERROR_MALFORMED);
    p = skipSpace(p + 1, end);
    if (p >= end) return scanIncomplete();
    q = <i32>load<u8>(p);
  }
  if (q != 0x27 && q != 0x22) return scanFail(XML_ERROR_UNQUOTED_ATTRIBUTE);
  p = parseValue(p + 1, end, q);
  if (p == 0) return 0;
  const record = attributeRecord(index);
  store<u32>(record, <u32>start);
  store<i32>(record, nameLength, 4);
  store<u32>(record, <u32>valuePointer, 8);
  store<i32>(record, valueLength, 12);
  return p;
}

/** Fails the scan: 0 for a scanning function's caller, the error in scanStatus. */
function scanFail(code: i32): usize {
  scanStatus = fail(code);
  return 0;
}

// @ts-ignore: decorator
@inline function scanIncomplete(): usize {
  scanStatus = UNIT_INCOMPLETE;
  return 0;
}

let valuePointer: usize = 0;
let valueLength: i32 = 0;

/**
 * An attribute value from after its opening quote; returns the position after the closing quote, or 0 (the reason in
 * scanStatus). The value stays where it is unless a reference or a normalized whitespace character changes it; then it
 * is built in XML_ATTR_POOL (valueOwned).
 */
// @ts-ignore: decorator
@inline function parseValue(p: usize, end: usize, q: i32): usize {
  const start = p;
  valueOwned = false;
  valueOut = 0;
  valueBuilt = 0;
  // Each pass takes a run of plain bytes and one special byte, or ends.
  while (true) {
    const r = valueRunEnd(p, end, q);
    if (valueOwned) {
      if (!poolAppend(p, <i32>(r - p))) return 0;
      valueBuilt += <i32>(r - p);
    }
    p = r;
    if (!valueOwned && <i32>(p - start) > XML_ATTR_VALUE_MAX || valueOwned && valueBuilt > XML_ATTR_VALUE_MAX) {
      return scanFail(XML_ERROR_ATTRIBUTE_TOO_LONG);
    }
    if (p >= end) return scanIncomplete();
    const c = <i32>load<u8>(p);
    if (c == q) break;
    if (c == 0x22 || c == 0x23 || c == 0x27) {
      // The other quote, or '#': plain after all.
      if (valueOwned) {
        if (!poolAppend(p, 1)) return 0;
        valueBuilt++;
      }
      p++;
      continue;
    }
    p = valueSpecial(p, end, start, c);
    if (p == 0) return 0;
  }
  valuePointer = valueOwned ? valueOut : start;
  valueLength = valueOwned ? valueBuilt : <i32>(p - start);
  return p + 1;
}

/** The value being built in XML_ATTR_POOL, if it differs from its bytes: where, and how long so far. */
let valueOwned = false;
let valueOut: usize = 0;
let valueBuilt = 0;

/** The end of the run of plain value bytes from `p`: the first byte that is special, or `end`. */
// @ts-ignore: decorator
@inline function valueRunEnd(p: usize, end: usize, q: i32): usize {
  let r = p;
  while (r + 8 <= end) {
    const stops = valueStops(load<u64>(r));
    if (stops != 0) return r + <usize>(ctz(stops) >> 3);
    r += 8;
  }
  while (r < end) {
    const b = <i32>load<u8>(r);
    if ((classOf(b) & C_VALUE) == 0 && ((b != 0x22 && b != 0x27) || b == q)) break;
    r++;
  }
  return r;
}

/**
 * A value's special byte other than the quotes and '#': '<' (an error), UTF-8, or what changes the value (a
 * reference, whitespace to normalize), from which on the value is built in the pool. Returns the position after it,
 * or 0 (scanStatus).
 */
function valueSpecial(p: usize, end: usize, start: usize, c: i32): usize {
  if (c == 0x3c) return scanFail(XML_ERROR_LT_IN_ATTRIBUTE);
  if (c >= 0x80) {
    const sequence = utf8At(p, end);
    if (sequence <= 0) return sequence == 0 ? scanIncomplete() : scanFail(XML_ERROR_INVALID_UTF8);
    if (valueOwned) {
      if (!poolAppend(p, sequence)) return 0;
      valueBuilt += sequence;
    }
    return p + <usize>sequence;
  }
  if (c != 0x26 && c != 0x09 && c != 0x0a && c != 0x0d) return scanFail(XML_ERROR_INVALID_CHARACTER);
  // From here the value differs from its bytes: build it in the pool.
  if (!valueOwned) {
    valueOut = XML_ATTR_POOL + <usize>attributePoolUsed;
    if (!poolAppend(start, <i32>(p - start))) return 0;
    valueBuilt = <i32>(p - start);
    valueOwned = true;
  }
  let codepoint: i32 = 0x20;
  if (c == 0x26) {
    codepoint = parseReference(p, end);
    if (codepoint < 0 || codepoint == UNIT_INCOMPLETE) {
      scanStatus = codepoint;
      return 0;
    }
    p = unitEnd;
  } else if (c == 0x0d) {
    // CR LF is one line end, normalized to one space.
    if (p + 1 >= end) return scanIncomplete();
    p += load<u8>(p + 1) == 0x0a ? 2 : 1;
  } else {
    p++;
  }
  const size = utf8Length(<u32>codepoint);
  if (attributePoolUsed + size > XML_ATTR_POOL_CAPACITY) return scanFail(XML_ERROR_TAG_TOO_LARGE);
  utf8Encode(<u32>codepoint, XML_ATTR_POOL + <usize>attributePoolUsed);
  attributePoolUsed += size;
  valueBuilt += size;
  return p;
}

/** Appends raw bytes to XML_ATTR_POOL; false (scanStatus set) if the tag's values do not fit. */
function poolAppend(pointer: usize, count: i32): bool {
  if (attributePoolUsed + count > XML_ATTR_POOL_CAPACITY) {
    scanStatus = fail(XML_ERROR_TAG_TOO_LARGE);
    return false;
  }
  memory.copy(XML_ATTR_POOL + <usize>attributePoolUsed, pointer, <usize>count);
  attributePoolUsed += count;
  return true;
}

/**
 * An end tag: "</", name, optional whitespace, '>'. The name must repeat the innermost open element's, whose bytes were
 * checked when it opened, so it is compared with that name directly instead of being scanned.
 */
function parseEndTag(start: usize, end: usize): i32 {
  const name = start + 2;
  if (name >= end) return UNIT_INCOMPLETE;
  const first = <i32>load<u8>(name);
  if ((classOf(first) & C_START) == 0 && first < 0x80) return fail(XML_ERROR_MALFORMED);
  const record = openRecord(depth - 1);
  const nameLength = load<i32>(record, 4) & 0xffff;
  const open = XML_OPEN_POOL + <usize>load<i32>(record);
  let i = 0;
  if (name + <usize>nameLength < end) {
    // Names are short: whole words while they last, then bytes. A differing word goes to the byte loop, which finds
    // the byte and says mismatch or bad UTF-8 as it would if the chunk had ended there (fuzz/regressions).
    for (; i + 8 <= nameLength; i += 8) {
      if (load<u64>(open + i) != load<u64>(name + i)) break;
    }
  }
  for (; i < nameLength; i++) {
    if (name + <usize>i >= end) return UNIT_INCOMPLETE;
    if (load<u8>(open + i) != load<u8>(name + i)) return endTagMismatch(name + i, end);
  }
  let p = name + <usize>nameLength;
  if (p >= end) return UNIT_INCOMPLETE;
  if (load<u8>(p) != 0x3e) {
    const c = <i32>load<u8>(p);
    if ((classOf(c) & C_NAME) != 0 || c >= 0x80) return endTagMismatch(p, end);
    p = skipSpace(p, end);
    if (p >= end) return UNIT_INCOMPLETE;
    if (load<u8>(p) != 0x3e) return fail(XML_ERROR_MALFORMED);
  }
  unitEnd = p + 1;
  return emitEnd();
}

/**
 * The end tag's name differs from the open element's at p: a mismatch, or bad UTF-8 if that is what is there (waiting
 * for the rest of a sequence the chunk cut off, so that a split cannot change the error).
 */
function endTagMismatch(p: usize, end: usize): i32 {
  if (load<u8>(p) >= 0x80) {
    const length = utf8At(p, end);
    if (length == 0) return UNIT_INCOMPLETE;
    if (length < 0) return fail(XML_ERROR_INVALID_UTF8);
  }
  return fail(XML_ERROR_MISMATCHED_TAG);
}

/** "<!": only a CDATA section is allowed (inside a stanza); comments and DOCTYPE are restricted XML. */
function parseBang(start: usize, end: usize): i32 {
  if (start + 2 >= end) return UNIT_INCOMPLETE;
  const c = <i32>load<u8>(start + 2);
  if (c == 0x2d) return fail(XML_ERROR_COMMENT);
  if (c == 0x44) return fail(XML_ERROR_DOCTYPE);
  if (c != 0x5b || depth < 2) return fail(XML_ERROR_MALFORMED);
  // "<![CDATA["
  for (let i = 3; i < 9; i++) {
    if (start + <usize>i >= end) return UNIT_INCOMPLETE;
    if (<i32>load<u8>(start + i) != <i32>load<u8>(asciiData("<![CDATA[") + <usize>i)) return fail(XML_ERROR_MALFORMED);
  }
  unitEnd = start + 9;
  bracketRun = 0;
  afterCarriageReturn = false;
  state = S_CDATA;
  return UNIT_NO_EVENT;
}

/** "<?": the XML declaration at the very start of the stream is skipped; any other processing instruction is refused. */
function parseDeclaration(start: usize, end: usize): i32 {
  if (!declarationAllowed) return fail(XML_ERROR_PROCESSING_INSTRUCTION);
  for (let i = 2; i < 6; i++) {
    if (start + <usize>i >= end) return UNIT_INCOMPLETE;
    const c = <i32>load<u8>(start + i);
    if (i < 5 ? c != <i32>load<u8>(asciiData("<?xml") + <usize>i) : (classOf(c) & C_SPACE) == 0) return fail(XML_ERROR_PROCESSING_INSTRUCTION);
  }
  for (let i = 6; i < XML_DECLARATION_MAX; i++) {
    if (start + <usize>i >= end) return UNIT_INCOMPLETE;
    if (load<u8>(start + i) == 0x3e && load<u8>(start + i - 1) == 0x3f) {
      unitEnd = start + i + 1;
      declarationAllowed = false;
      return UNIT_NO_EVENT;
    }
  }
  return fail(XML_ERROR_MALFORMED);
}

/**
 * A reference at p ('&'): returns its code point (unitEnd past the ';'), UNIT_INCOMPLETE, or an error. The body is
 * one of the five predefined entities or a numeric reference to an XML character; nothing else exists.
 */
function parseReference(p: usize, end: usize): i32 {
  for (let i = 1; i < REFERENCE_MAX; i++) {
    if (p + <usize>i >= end) return UNIT_INCOMPLETE;
    const c = <i32>load<u8>(p + i);
    if (c == 0x3b) {
      const codepoint = entityCodepoint(p + 1, i - 1);
      if (codepoint == ENTITY_UNKNOWN) return fail(XML_ERROR_UNKNOWN_ENTITY);
      if (codepoint == ENTITY_BAD_REFERENCE) return fail(XML_ERROR_BAD_CHARACTER_REFERENCE);
      unitEnd = p + i + 1;
      return codepoint;
    }
    const lower = c | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (lower >= 0x61 && lower <= 0x7a) || c == 0x23)) return fail(XML_ERROR_BAD_ENTITY);
  }
  return fail(XML_ERROR_BAD_ENTITY);
}

// ---------------------------------------------------------------------------------------------------------------------
// Events

// @ts-ignore: decorator
@inline function event(): XmlEvent {
  return changetype<XmlEvent>(XML_EVENT);
}

// @ts-ignore: decorator
@inline function emitText(): i32 {
  if (treeTarget != 0) {
    treeAddText(treeTarget, textPointer, textLength);
    textLength = 0;
    textOwned = false;
    return treeHeader(treeTarget).overflowed ? XML_TEXT : UNIT_NO_EVENT;
  }
  const e = event();
  e.kind = XML_TEXT;
  e.level = depth;
  e.valuePointer = <u32>textPointer;
  e.valueLength = textLength;
  // The bytes stay where they are until a later call; the next text starts afresh.
  textLength = 0;
  textOwned = false;
  return XML_TEXT;
}

// @ts-ignore: decorator
@inline function emitAttribute(index: i32): i32 {
  const record = attributeRecord(index);
  const e = event();
  e.kind = XML_ATTRIBUTE;
  e.level = depth - 1;
  store<u64>(XML_EVENT, load<u64>(record), 8);
  store<u64>(XML_EVENT, load<u64>(record, 8), 16);
  e.attributeIndex = index;
  return XML_ATTRIBUTE;
}

/** Per open level in XML_OPEN_TABLE: name offset, name length | prefix length << 16, namespace pointer and length. */
// @ts-ignore: decorator
@inline function openRecord(level: i32): usize {
  return XML_OPEN_TABLE + <usize>level * <usize>XML_OPEN_RECORD_SIZE;
}

// @ts-ignore: decorator
@inline function isXmlns(pointer: usize, length: i32): bool {
  // "xmlns" is 78 6d 6c 6e 73.
  return length >= 5 && load<u32>(pointer) == 0x6e6c6d78 && load<u8>(pointer, 4) == 0x73;
}

/** Checks and enters the element whose start tag was just parsed (name and attributes); delivers its start. */
// @ts-ignore: decorator
@inline function finishStartTag(name: usize, nameLength: i32, selfClosing: bool): i32 {
  if (depth >= XML_DEPTH_MAX) return fail(XML_ERROR_TOO_DEEP);
  // Qualified name: at most a prefix before the first ':', neither side empty.
  let colon = nameLength;
  for (let i = 0; i < nameLength; i += 8) {
    const colons = zeroBytes(load<u64>(name + i) ^ (ONES * 0x3a));
    if (colons != 0) {
      colon = min(nameLength, i + <i32>(ctz(colons) >> 3));
      break;
    }
  }
  if (colon == 0 || colon == nameLength - 1) return fail(XML_ERROR_MALFORMED);
  const prefixLength = colon < nameLength ? colon : 0;
  const level = depth;
  const attributesError = checkAttributes(level);
  if (attributesError < 0) return attributesError;

  // The element's namespace: its prefix's binding, or the default namespace in scope.
  const binding = findNamespace(name, prefixLength);
  if (binding < 0 && prefixLength > 0) return fail(XML_ERROR_UNBOUND_PREFIX);
  let nsPointer: usize = 0;
  let nsLength = 0;
  if (binding >= 0) {
    const record = XML_NS_TABLE + <usize>binding * <usize>XML_NS_RECORD_SIZE;
    nsPointer = XML_NS_POOL + <usize>load<i32>(record, 12);
    nsLength = load<i32>(record, 16);
  }
  const stored = pushOpenName(level, name, nameLength, prefixLength, nsPointer, nsLength);

  declarationAllowed = false;
  state = depth == 1 ? S_STREAM_LEVEL : S_TEXT;
  if (treeTarget != 0) return buildStart(level, name, nameLength, prefixLength, nsPointer, nsLength, selfClosing);
  const kind = level == 0 ? XML_STREAM_START : XML_ELEMENT_START;
  const e = event();
  e.kind = kind;
  e.level = level;
  e.namePointer = <u32>stored;
  e.nameLength = nameLength;
  e.prefixLength = prefixLength;
  e.nsPointer = <u32>nsPointer;
  e.nsLength = nsLength;
  e.attributeCount = attributeCount;

  pendingAttribute = 0;
  pendingAttributeEnd = attributeCount;
  pendingEnd = selfClosing;
  return kind;
}

// buildStart hands XML_ATTR_TABLE to treeAddAttributes: its records are the tree's attribute layout (name, name
// length, value, value length).
assert(XML_ATTR_RECORD_SIZE == TREE_ATTR_SIZE);

/**
 * Tree mode: the start tag just entered goes into the tree, with its attributes. The header is whole at once; a
 * self-closing element ends at once. Returns what xmlNext returns in tree mode, or UNIT_NO_EVENT to go on.
 */
// @ts-ignore: decorator
@inline function buildStart(level: i32, name: usize, nameLength: i32, prefixLength: i32, ns: usize, nsLength: i32, selfClosing: bool): i32 {
  const tree = treeTarget;
  if (level <= 1) treeBegin(tree);
  // The parent's binding is still in scope, so the same URI pointer is the same namespace: its copy is shared.
  const nsIsParents = level > 0 && nsLength > 0 && <u32>ns == load<u32>(openRecord(level - 1), 8);
  treeOpenElement(tree, name, nameLength, prefixLength, ns, nsLength, nsIsParents);
  treeAddAttributes(tree, XML_ATTR_TABLE, attributeCount);
  pendingAttribute = 0;
  pendingAttributeEnd = 0;
  const kind = level == 0 ? XML_STREAM_START : XML_ELEMENT_START;
  if (treeHeader(tree).overflowed) return kind;
  if (level == 0) {
    // The stream element's own content is the stream: the header tree ends with its start tag.
    treeCloseElement(tree);
    pendingEnd = selfClosing;
    return kind;
  }
  return selfClosing ? emitEnd() : UNIT_NO_EVENT;
}

/** The tag's attributes: no duplicates; namespace declarations bound at `level`. 0, or the error. */
// @ts-ignore: decorator
@inline function checkAttributes(level: i32): i32 {
  for (let i = 0; i < attributeCount; i++) {
    const record = attributeRecord(i);
    const attributeName = <usize>load<u32>(record);
    const attributeNameLength = load<i32>(record, 4);
    // Duplicates: names of equal length and first byte are compared in full.
    for (let j = 0; j < i; j++) {
      const other = attributeRecord(j);
      const otherName = <usize>load<u32>(other);
      if (load<i32>(other, 4) == attributeNameLength && load<u8>(otherName) == load<u8>(attributeName)
        && bytesEqual(otherName, attributeNameLength, attributeName, attributeNameLength)) {
        return fail(XML_ERROR_DUPLICATE_ATTRIBUTE);
      }
    }
    // Namespace declarations: xmlns="uri" (default) and xmlns:p="uri".
    if (!isXmlns(attributeName, attributeNameLength)) continue;
    let declared = -1;
    if (attributeNameLength == 5) declared = 0;
    else if (load<u8>(attributeName, 5) == 0x3a) declared = attributeNameLength - 6;
    if (declared < 0) continue;
    if (!declareNamespace(level, attributeName + 6, declared, <usize>load<u32>(record, 8), load<i32>(record, 12))) {
      return fail(XML_ERROR_TOO_MANY_NAMESPACES);
    }
  }
  return 0;
}

/** Pushes the open element's name and namespace; returns where the name is kept. */
// @ts-ignore: decorator
@inline function pushOpenName(level: i32, name: usize, nameLength: i32, prefixLength: i32, nsPointer: usize, nsLength: i32): usize {
  // The open pool holds XML_DEPTH_MAX names of the longest length, so it cannot overflow.
  assert(openPoolUsed + nameLength <= XML_OPEN_POOL_CAPACITY);
  const record = openRecord(level);
  const stored = XML_OPEN_POOL + <usize>openPoolUsed;
  // Whole words: the name is at most XML_NAME_CAPACITY bytes, the pool has slack for the last word, and the bytes
  // read past the name are inside the module's memory (the chunk or the carry buffer is followed by other buffers).
  for (let i = 0; i < nameLength; i += 8) store<u64>(stored + i, load<u64>(name + i));
  store<i32>(record, openPoolUsed);
  store<i32>(record, nameLength | (prefixLength << 16), 4);
  store<u32>(record, <u32>nsPointer, 8);
  store<i32>(record, nsLength, 12);
  openPoolUsed += nameLength;
  depth++;
  return stored;
}

/** Delivers the end of the innermost open element and closes it. */
// @ts-ignore: decorator
@inline function emitEnd(): i32 {
  const level = depth - 1;
  const record = openRecord(level);
  const kind = level == 0 ? XML_STREAM_END : XML_ELEMENT_END;
  if (treeTarget != 0) {
    popOpen(level, record);
    if (level == 0) return kind;
    treeCloseElement(treeTarget);
    // Closing allocates nothing, so it cannot overflow the tree.
    return level == 1 ? kind : UNIT_NO_EVENT;
  }
  const e = event();
  e.kind = kind;
  e.level = level;
  e.namePointer = <u32>(XML_OPEN_POOL + <usize>load<i32>(record));
  e.nameLength = load<i32>(record, 4) & 0xffff;
  e.prefixLength = load<i32>(record, 4) >>> 16;
  e.nsPointer = load<u32>(record, 8);
  e.nsLength = load<i32>(record, 12);
  e.attributeCount = 0;
  popOpen(level, record);
  return kind;
}

/** Closes the innermost open element (at `level`, whose record is given). */
// @ts-ignore: decorator
@inline function popOpen(level: i32, record: usize): void {
  // The popped bytes stay in place until a later call pushes again, so the event data remains valid.
  openPoolUsed = load<i32>(record);
  if (namespaceCount > 0 && load<i32>(XML_NS_TABLE + <usize>(namespaceCount - 1) * <usize>XML_NS_RECORD_SIZE) >= level) {
    while (namespaceCount > 0 && load<i32>(XML_NS_TABLE + <usize>(namespaceCount - 1) * <usize>XML_NS_RECORD_SIZE) >= level) {
      namespaceCount--;
      namespacePoolUsed = load<i32>(XML_NS_TABLE + <usize>namespaceCount * <usize>XML_NS_RECORD_SIZE, 4);
    }
    defaultNamespace = findNamespaceDeclaration(0, 0);
  }
  depth = level;
  state = depth == 0 ? S_DONE : depth == 1 ? S_STREAM_LEVEL : S_TEXT;
}

// ---------------------------------------------------------------------------------------------------------------------
// Namespace scope: a stack of declarations; per entry its level, prefix and URI (offsets into XML_NS_POOL).

function declareNamespace(level: i32, prefix: usize, prefixLength: i32, uri: usize, uriLength: i32): bool {
  if (namespaceCount >= XML_NS_MAX) return false;
  if (namespacePoolUsed + prefixLength + uriLength > XML_NS_POOL_CAPACITY) return false;
  const record = XML_NS_TABLE + <usize>namespaceCount * <usize>XML_NS_RECORD_SIZE;
  store<i32>(record, level);
  store<i32>(record, namespacePoolUsed, 4);
  store<i32>(record, prefixLength, 8);
  copySmall(XML_NS_POOL + <usize>namespacePoolUsed, prefix, prefixLength);
  namespacePoolUsed += prefixLength;
  store<i32>(record, namespacePoolUsed, 12);
  store<i32>(record, uriLength, 16);
  copySmall(XML_NS_POOL + <usize>namespacePoolUsed, uri, uriLength);
  namespacePoolUsed += uriLength;
  if (prefixLength == 0) defaultNamespace = namespaceCount;
  namespaceCount++;
  return true;
}

/** Index of the innermost declaration of `prefix` (length 0: the default namespace), or -1. */
// @ts-ignore: decorator
@inline function findNamespace(prefix: usize, prefixLength: i32): i32 {
  return prefixLength == 0 ? defaultNamespace : findNamespaceDeclaration(prefix, prefixLength);
}

function findNamespaceDeclaration(prefix: usize, prefixLength: i32): i32 {
  for (let i = namespaceCount - 1; i >= 0; i--) {
    const record = XML_NS_TABLE + <usize>i * <usize>XML_NS_RECORD_SIZE;
    if (load<i32>(record, 8) != prefixLength) continue;
    if (prefixLength == 0 || bytesEqual(XML_NS_POOL + <usize>load<i32>(record, 4), prefixLength, prefix, prefixLength)) return i;
  }
  return -1;
}
