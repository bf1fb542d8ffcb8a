// The tree builder: tokenizer events in, whole stanza trees out. The stream header becomes a tree too (the stream
// element and its attributes), so the state machine reads `id` or `from` the way it reads any stanza.

import { XML_EVENT } from "../memory-map";
import {
  XML_ATTRIBUTE,
  XML_ELEMENT_END,
  XML_ELEMENT_START,
  XML_STREAM_END,
  XML_STREAM_START,
  XML_TEXT,
  XmlEvent,
  xmlFeed,
  xmlNext,
  xmlReset,
} from "./tokenizer";
import { treeAddAttribute, treeAddText, treeBegin, treeCloseElement, treeHeader, treeOpenElement } from "./tree";

export const READ_NEED_MORE: i32 = 0;
/** The stream header is in the tree. */
export const READ_HEADER: i32 = 1;
/** A whole stanza (top-level element) is in the tree. */
export const READ_STANZA: i32 = 2;
/** The server closed the stream (</stream:stream>). */
export const READ_STREAM_END: i32 = 3;
/** The stanza does not fit a tree (nodes, attributes or pool). Tokenizer errors are passed on as they are (< 0). */
export const READ_TOO_LARGE: i32 = -100;
/** stanza_next was given a slot outside 0 .. TREE_SLOTS - 1: nothing was read. */
export const READ_BAD_SLOT: i32 = -101;

let headerAttributesPending: i32 = 0;
let failure: i32 = 0;

export function treeBuilderReset(): void {
  xmlReset();
  headerAttributesPending = 0;
  failure = 0;
}

/** Hands over the next chunk (see xmlFeed). */
export function treeBuilderFeed(pointer: usize, length: i32): i32 {
  return xmlFeed(pointer, length);
}

/**
 * Reads on until the header, a stanza or the stream end is complete in `tree`. Returns READ_* or a negative error,
 * which stays until treeBuilderReset.
 */
export function treeBuilderNext(tree: usize): i32 {
  if (failure != 0) return failure;
  const e = changetype<XmlEvent>(XML_EVENT);
  // xmlNext consumes input or returns NEED_MORE, so this loop ends with the chunk.
  while (true) {
    const kind = xmlNext();
    if (kind < 0) return (failure = kind);
    if (kind == 0) return READ_NEED_MORE;
    if (kind == XML_STREAM_START) {
      treeBegin(tree);
      treeOpenElement(tree, e.namePointer, e.nameLength, e.prefixLength, e.nsPointer, e.nsLength);
      headerAttributesPending = e.attributeCount;
      if (headerAttributesPending == 0) return finishHeader(tree);
    } else if (kind == XML_ATTRIBUTE) {
      treeAddAttribute(tree, e.namePointer, e.nameLength, e.valuePointer, e.valueLength);
      if (e.level == 0 && --headerAttributesPending == 0) return finishHeader(tree);
    } else if (kind == XML_ELEMENT_START) {
      if (e.level == 1) treeBegin(tree);
      treeOpenElement(tree, e.namePointer, e.nameLength, e.prefixLength, e.nsPointer, e.nsLength);
    } else if (kind == XML_TEXT) {
      treeAddText(tree, e.valuePointer, e.valueLength);
    } else if (kind == XML_ELEMENT_END) {
      treeCloseElement(tree);
      if (e.level == 1) {
        if (treeHeader(tree).overflowed) return (failure = READ_TOO_LARGE);
        return READ_STANZA;
      }
    } else if (kind == XML_STREAM_END) {
      return READ_STREAM_END;
    }
    // A tree that overflowed mid-stanza is reported at once: the stream cannot go on without the stanza.
    if (treeHeader(tree).overflowed) return (failure = READ_TOO_LARGE);
  }
}

function finishHeader(tree: usize): i32 {
  treeCloseElement(tree);
  return treeHeader(tree).overflowed ? (failure = READ_TOO_LARGE) : READ_HEADER;
}
