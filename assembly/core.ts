// The core of the rabbit's module: MD5, base64, the XML stream tokenizer, stanza trees and their debug dump. It is
// built on its own as build/core.wasm (the part a porter of the firmware's parser and hashes needs; `npm run bench`
// reports its size), and the whole rabbit (index.ts) exports it too. Pointers and lengths are i32 into the static
// buffers of memory-map.ts; booleans are i32 0/1. docs/ABI.md lists the exports.

import { base64Decode, base64DecodeFirmware, base64Encode, base64Setup } from "./codec/base64";
import { md5, md5Final, md5Init, md5Update } from "./crypto/md5";
import { dumpTree } from "./xml/dump";
import { READ_BAD_SLOT, treeBuilderFeed, treeBuilderNext, treeBuilderReset } from "./xml/tree-builder";
import { xmlBuildInto, xmlFeed, xmlNext, xmlReset, xmlSetup } from "./xml/tokenizer";
import { treeSlot, treeSlotValid } from "./xml/tree";

base64Setup();
xmlSetup();

// ---------------------------------------------------------------------------------------------------------------------
// Memory map: where the host reads and writes.

export { IO_IN, IO_IN_CAPACITY, IO_OUT, IO_OUT_CAPACITY, XML_EVENT, arena_end } from "./memory-map";

// ---------------------------------------------------------------------------------------------------------------------
// MD5

export function md5_init(): void {
  md5Init();
}

export function md5_update(pointer: usize, length: i32): void {
  md5Update(pointer, length);
}

/** Writes the 16-byte digest at `out`; `firmware` = 1 reproduces the firmware's length bug. */
export function md5_final(out: usize, firmware: i32): void {
  md5Final(out, firmware != 0);
}

export function md5_digest(pointer: usize, length: i32, out: usize, firmware: i32): void {
  md5(pointer, length, out, firmware != 0);
}

// ---------------------------------------------------------------------------------------------------------------------
// Base64

/** Encoded length, or -4 (no room). `firmware` = 1: the firmware's short padding. */
export function base64_encode(pointer: usize, length: i32, out: usize, capacity: i32, firmware: i32): i32 {
  return base64Encode(pointer, length, out, capacity, firmware != 0);
}

/** Decoded length, or -1 bad character, -2 bad padding, -3 bad length, -4 no room. */
export function base64_decode(pointer: usize, length: i32, out: usize, capacity: i32): i32 {
  return base64Decode(pointer, length, out, capacity);
}

/** The firmware's decoder: ⌊6·length/8⌋ bytes, or -4 (no room). */
export function base64_decode_firmware(pointer: usize, length: i32, out: usize, capacity: i32): i32 {
  return base64DecodeFirmware(pointer, length, out, capacity);
}

// ---------------------------------------------------------------------------------------------------------------------
// XML tokenizer (xml/tokenizer.ts). The event is at XML_EVENT.

export function xml_reset(): void {
  xmlReset();
}

export function xml_feed(pointer: usize, length: i32): i32 {
  return xmlFeed(pointer, length);
}

// The tokenizer is shared with the stanza reader, whose calls put it in tree mode: events are asked for here.
export function xml_next(): i32 {
  xmlBuildInto(0);
  return xmlNext();
}

/** Runs the tokenizer to the end of the chunk; returns the number of events, or the error. (Benchmarks, tests.) */
export function xml_drain(): i32 {
  xmlBuildInto(0);
  let events = 0;
  while (true) {
    const kind = xmlNext();
    if (kind < 0) return kind;
    if (kind == 0) return events;
    events++;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Stanza trees. Slot numbers index TREE_SLOT_AREA.

export function stanza_reset(): void {
  treeBuilderReset();
}

export function stanza_feed(pointer: usize, length: i32): i32 {
  return treeBuilderFeed(pointer, length);
}

/**
 * READ_* (0 need more, 1 header, 2 stanza, 3 stream end) or a negative error; the tree is in `slot` (0 .. TREE_SLOTS
 * - 1; another slot: READ_BAD_SLOT, nothing read).
 */
export function stanza_next(slot: i32): i32 {
  if (!treeSlotValid(slot)) return READ_BAD_SLOT;
  return treeBuilderNext(treeSlot(slot));
}

/** Writes the debug dump of the tree in `slot` to the UART (nothing for a slot outside 0 .. TREE_SLOTS - 1). */
export function stanza_dump(slot: i32): void {
  if (treeSlotValid(slot)) dumpTree(treeSlot(slot));
}
