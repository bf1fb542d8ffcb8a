// The tree builder: the tokenizer in tree mode (xmlBuildInto) builds each stanza's tree as it parses, and this says
// when one is whole. The stream header becomes a tree too (the stream element and its attributes), so the state
// machine reads `id` or `from` the way it reads any stanza.

import { XML_ELEMENT_END, XML_NEED_MORE, XML_STREAM_END, XML_STREAM_START, xmlBuildInto, xmlFeed, xmlNext, xmlReset } from "./tokenizer";
import { treeHeader } from "./tree";

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

let failure: i32 = 0;

export function treeBuilderReset(): void {
  xmlReset();
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
  xmlBuildInto(tree);
  const kind = xmlNext();
  if (kind < 0) return (failure = kind);
  // A tree that overflowed is reported at once: the stream cannot go on without the stanza.
  if (treeHeader(tree).overflowed) return (failure = READ_TOO_LARGE);
  if (kind == XML_ELEMENT_END) return READ_STANZA;
  if (kind == XML_STREAM_START) return READ_HEADER;
  if (kind == XML_STREAM_END) return READ_STREAM_END;
  assert(kind == XML_NEED_MORE);
  return READ_NEED_MORE;
}
