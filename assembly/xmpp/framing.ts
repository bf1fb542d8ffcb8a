// Stream framing: received bytes in, the server's stream header and whole stanzas out (spec §4 "Receive", §11.1).
//
// Two framings, chosen by the quirks (quirks.ts, usesFirmwareReader):
//   - the firmware's: the stream header must arrive within one read (header-one-chunk); then the bytes accumulate in
//     FW_RX, "</stream:stream>" anywhere in it ends everything at once, and complete elements are read off its front
//     by the firmware's substring reader; a text item (whitespace before a stanza) becomes the whole buffer
//     (xml-ws-between), after which nothing is ever read again on this stream;
//   - the XML one: the streaming tokenizer (xml/tree-builder.ts), any split, whitespace between stanzas ignored.

import { FIRMWARE_ONLY } from "../build";
import { FW_RX, FW_RX_CAPACITY } from "../memory-map";
import { quirk, QUIRK_HEADER_ONE_CHUNK, QUIRK_XML_ATTR_SYNTAX, QUIRK_XML_WS_BETWEEN, usesFirmwareReader } from "../quirks";
import { bytesStartWithAscii, indexOfAscii, indexOfByte } from "../util/bytes";
import { FW_ATTRIBUTE_SYNTAX, FW_ELEMENT, FW_INCOMPLETE, FW_TEXT, fwReadElement, fwRestEnd, fwRestStart, fwTextLength } from "../xml/firmware-reader";
import { READ_HEADER, READ_NEED_MORE, READ_STANZA, READ_STREAM_END, READ_TOO_LARGE, treeBuilderFeed, treeBuilderNext, treeBuilderReset } from "../xml/tree-builder";

export const FRAME_NEED_MORE: i32 = 0;
export const FRAME_HEADER: i32 = 1; //      the server's stream header arrived
export const FRAME_STANZA: i32 = 2; //      a stanza is in the tree
export const FRAME_STREAM_END: i32 = 3; //  </stream:stream>
export const FRAME_CRASH: i32 = -1; //      attribute syntax the firmware's reader could not survive
export const FRAME_TOO_LARGE: i32 = -2; //  a stanza larger than its buffers
export const FRAME_BAD_XML: i32 = -3; //    not well-formed (error code in framingError)

/** The tokenizer's error code after FRAME_BAD_XML. */
export let framingError: i32 = 0;

let firmware = true;
let headerSeen = false;
let rxLength = 0;
/** The firmware is deaf on this stream: its buffer holds a text item that never goes away. */
let deaf = false;
/** Bytes of the current chunk not handed to the framing yet (firmware: a chunk is appended as a whole). */
let pendingPointer: usize = 0;
let pendingLength = 0;

/** The firmware's framing: always in the device build, else as the quirks said at the stream's start. */
// @ts-ignore: decorator
@inline function firmwareFraming(): bool {
  return FIRMWARE_ONLY || firmware;
}

/** A new stream (a new connection, or the restart after SASL success). */
export function framingReset(): void {
  firmware = usesFirmwareReader();
  headerSeen = false;
  rxLength = 0;
  deaf = false;
  pendingLength = 0;
  framingError = 0;
  if (!FIRMWARE_ONLY) treeBuilderReset();
}

/** Hands over a received chunk; then call framingNext until it returns FRAME_NEED_MORE. */
export function framingFeed(pointer: usize, length: i32): void {
  pendingPointer = pointer;
  pendingLength = length;
  if (firmwareFraming()) return;
  const fed = treeBuilderFeed(pointer, length);
  // Every read is drained before the next one, and reads arrive in IO_IN, which ends far before the memory does.
  assert(fed == 0);
}

/** The next item from the bytes fed so far; a stanza or header goes into `tree`. */
export function framingNext(tree: usize): i32 {
  return firmwareFraming() ? firmwareNext(tree) : xmlNext(tree);
}

function xmlNext(tree: usize): i32 {
  pendingLength = 0;
  const result = treeBuilderNext(tree);
  if (result == READ_NEED_MORE) return FRAME_NEED_MORE;
  if (result == READ_HEADER) {
    headerSeen = true;
    return FRAME_HEADER;
  }
  if (result == READ_STANZA) return FRAME_STANZA;
  if (result == READ_STREAM_END) return FRAME_STREAM_END;
  if (result == READ_TOO_LARGE) return FRAME_TOO_LARGE;
  framingError = result;
  return FRAME_BAD_XML;
}

function firmwareNext(tree: usize): i32 {
  if (pendingLength > 0) {
    let pointer = pendingPointer;
    let length = pendingLength;
    pendingLength = 0;
    if (!headerSeen) {
      // Before the stream is open the chunk itself must hold "<stream:stream"; the first '>' after it ends the
      // header and the rest starts the stanza buffer. Without header-one-chunk, a header may come in pieces.
      if (!quirk(QUIRK_HEADER_ONE_CHUNK)) {
        if (!append(pointer, length)) return FRAME_TOO_LARGE;
        pointer = FW_RX;
        length = rxLength;
      }
      const start = indexOfAscii(pointer, length, "<stream:stream");
      const close = start < 0 ? -1 : indexOfByte(pointer, length, 0x3e, start);
      if (close < 0) return FRAME_NEED_MORE; // firmware: the chunk is ignored; otherwise kept in FW_RX
      headerSeen = true;
      const rest = length - close - 1;
      if (pointer == FW_RX) {
        memory.copy(FW_RX, FW_RX + <usize>(close + 1), <usize>rest);
        rxLength = rest;
      } else {
        rxLength = 0;
        if (!append(pointer + <usize>(close + 1), rest)) return FRAME_TOO_LARGE;
      }
      return FRAME_HEADER;
    }
    if (!append(pointer, length)) return FRAME_TOO_LARGE;
    // "</stream:stream>" anywhere in the buffer ends the stream before anything else is read (spec §4).
    if (indexOfAscii(FW_RX, rxLength, "</stream:stream>") >= 0) return FRAME_STREAM_END;
  }
  // Each pass reads one item off the front; skipped text shortens the buffer, so this ends.
  while (true) {
    if (deaf || rxLength == 0) return FRAME_NEED_MORE;
    if (bytesStartWithAscii(FW_RX, rxLength, "</stream:stream>")) return FRAME_STREAM_END;
    const result = fwReadElement(FW_RX, rxLength, tree);
    if (result == FW_INCOMPLETE) {
      // A buffer that is full without a complete element can never complete.
      return rxLength >= FW_RX_CAPACITY ? FRAME_TOO_LARGE : FRAME_NEED_MORE;
    }
    if (result == FW_ELEMENT) {
      // The buffer becomes the rest (cut short by xml-empty-truncate where the reader says so).
      const restLength = fwRestEnd - fwRestStart;
      memory.copy(FW_RX, FW_RX + <usize>fwRestStart, <usize>restLength);
      rxLength = restLength;
      return FRAME_STANZA;
    }
    if (result == FW_TEXT) {
      if (quirk(QUIRK_XML_WS_BETWEEN)) {
        // The buffer becomes the text item: the stanza after it is lost, and so is every later one.
        rxLength = fwTextLength;
        deaf = true;
        return FRAME_NEED_MORE;
      }
      if (indexOfAscii(FW_RX, rxLength, "</stream:stream>") == fwTextLength) return FRAME_STREAM_END;
      // Whitespace (or stray text) between stanzas is skipped.
      memory.copy(FW_RX, FW_RX + <usize>fwTextLength, <usize>(rxLength - fwTextLength));
      rxLength -= fwTextLength;
      continue;
    }
    if (result == FW_ATTRIBUTE_SYNTAX) return quirk(QUIRK_XML_ATTR_SYNTAX) ? FRAME_CRASH : FRAME_BAD_XML;
    return FRAME_TOO_LARGE;
  }
}

/** Appends to FW_RX; false if it does not fit. */
function append(pointer: usize, length: i32): bool {
  if (rxLength + length > FW_RX_CAPACITY) return false;
  memory.copy(FW_RX + <usize>rxLength, pointer, <usize>length);
  rxLength += length;
  return true;
}
