// Reading a received stanza (a tree, xml/tree.ts) the way the firmware did or the way XML means it:
//   - xml-prefix-literal: names are compared with their prefix ("stream:features") and `xmlns` is a plain attribute;
//     otherwise names are local names in a namespace, resolved by the tokenizer;
//   - xml-first-text: an element's text is its first child if that is text; otherwise all its text children joined.
// Results come back through the globals below, valid until the next call.

import { TEXT_GATHER, TEXT_GATHER_CAPACITY } from "../memory-map";
import { quirk, QUIRK_XML_FIRST_TEXT, QUIRK_XML_PREFIX_LITERAL, usesFirmwareReader } from "../quirks";
import { Ascii, asciiData, asciiLength, bytesEqual, bytesEqualAscii, indexOfByte } from "../util/bytes";
import { NODE_ELEMENT, NODE_TEXT, treeAttribute, treeAttributeIndex, treeNode } from "../xml/tree";

/** The value found by attribute(), text(). */
export let valuePointer: usize = 0;
export let valueLength: i32 = 0;

export const NS_STREAMS = "http://etherx.jabber.org/streams";
export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
export const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
export const NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session";
export const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";
export const NS_PING = "urn:xmpp:ping";
export const NS_PACKET = "violet:packet";

/** Names are compared as the firmware did: with the prefix, namespaces as plain `xmlns` attributes. */
function literalNames(): bool {
  // A tree from the firmware's reader has no namespaces to go by.
  return quirk(QUIRK_XML_PREFIX_LITERAL) || usesFirmwareReader();
}

/** The element's name is `name` (written with its prefix, if any, as the firmware compared it). */
export function isNamed(tree: usize, node: i32, name: Ascii): bool {
  const n = treeNode(tree, node);
  if (n.kind != NODE_ELEMENT) return false;
  if (literalNames()) return bytesEqualAscii(n.namePointer, n.nameLength, name);
  // Namespace-aware: compare local names.
  const skip = n.prefixLength > 0 ? <i32>n.prefixLength + 1 : 0;
  const local = indexOfByte(asciiData(name), asciiLength(name), 0x3a) + 1;
  return bytesEqual(n.namePointer + skip, n.nameLength - skip, asciiData(name) + <usize>local, asciiLength(name) - local);
}

/**
 * The element is in namespace `ns`: its resolved namespace, or, read the firmware's way, its `xmlns` attribute (an
 * element whose name has a prefix counts as in the namespace the prefix stands for).
 */
export function inNamespace(tree: usize, node: i32, ns: Ascii): bool {
  const n = treeNode(tree, node);
  if (literalNames()) {
    if (indexOfByte(n.namePointer, n.nameLength, 0x3a) >= 0) return true;
    return attribute(tree, node, "xmlns") && bytesEqualAscii(valuePointer, valueLength, ns);
  }
  return bytesEqualAscii(n.nsPointer, n.nsLength, ns);
}

/** Both of the above. */
export function isElement(tree: usize, node: i32, name: Ascii, ns: Ascii): bool {
  return isNamed(tree, node, name) && inNamespace(tree, node, ns);
}

/** The first direct child element named `name`, or -1 (the firmware's lookup: by name only). */
export function child(tree: usize, parent: i32, name: Ascii): i32 {
  const end = <i32>treeNode(tree, parent).end;
  let i = parent + 1;
  while (i < end) {
    const n = treeNode(tree, i);
    if (n.kind == NODE_ELEMENT && isNamed(tree, i, name)) return i;
    i = n.kind == NODE_ELEMENT ? <i32>n.end : i + 1;
  }
  return -1;
}

/** The first direct child named `name`, if it is in `ns`; else -1. */
export function childIn(tree: usize, parent: i32, name: Ascii, ns: Ascii): i32 {
  const found = child(tree, parent, name);
  return found >= 0 && inNamespace(tree, found, ns) ? found : -1;
}

/** Finds attribute `name` of the element; its value in valuePointer/valueLength. */
export function attribute(tree: usize, node: i32, name: Ascii): bool {
  const index = treeAttributeIndex(tree, node, name);
  if (index < 0) return false;
  const a = treeAttribute(tree, index);
  valuePointer = a.valuePointer;
  valueLength = <i32>a.valueLength;
  return true;
}

/** The attribute equals a literal. */
export function attributeIs(tree: usize, node: i32, name: Ascii, value: Ascii): bool {
  return attribute(tree, node, name) && bytesEqualAscii(valuePointer, valueLength, value);
}

/**
 * The element's text into valuePointer/valueLength; false if it has none. With xml-first-text only a first child
 * that is text counts; otherwise all text children are joined (in TEXT_GATHER when there are several).
 */
export function text(tree: usize, node: i32): bool {
  const end = <i32>treeNode(tree, node).end;
  if (quirk(QUIRK_XML_FIRST_TEXT)) {
    if (end <= node + 1 || treeNode(tree, node + 1).kind != NODE_TEXT) return false;
    valuePointer = treeNode(tree, node + 1).namePointer;
    valueLength = <i32>treeNode(tree, node + 1).nameLength;
    return true;
  }
  let count = 0;
  let length = 0;
  let i = node + 1;
  while (i < end) {
    const n = treeNode(tree, i);
    if (n.kind == NODE_TEXT && <i32>n.level == <i32>treeNode(tree, node).level + 1) {
      if (count == 0) valuePointer = n.namePointer;
      if (count == 1) {
        // A second piece: gather them in TEXT_GATHER.
        memory.copy(TEXT_GATHER, valuePointer, <usize>length);
        valuePointer = TEXT_GATHER;
      }
      if (count >= 1) {
        const take = min(<i32>n.nameLength, TEXT_GATHER_CAPACITY - length);
        memory.copy(TEXT_GATHER + <usize>length, n.namePointer, <usize>take);
        length += take;
      } else {
        length = <i32>n.nameLength;
      }
      count++;
    }
    i = n.kind == NODE_ELEMENT ? <i32>n.end : i + 1;
  }
  valueLength = length;
  return count > 0;
}
