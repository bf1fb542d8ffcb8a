// A parsed stanza: elements and text nodes in document order, each knowing its level and where its subtree ends, so
// walking and searching need neither pointers between nodes nor recursion. Built by either reader (the tokenizer via
// tree-builder.ts, or the firmware's reader), read by the state machine and the debug dump.
//
// A tree lives in one fixed slot of TREE_SLOT_AREA and owns copies of all its strings (in the slot's pool), so the
// input can move on while the stanza waits in the queue. Slot layout: header, nodes, attributes, pool.

import {
  TREE_ATTR_SIZE,
  TREE_ATTRS_MAX,
  TREE_HEADER_SIZE,
  TREE_NODE_SIZE,
  TREE_NODES_MAX,
  TREE_OPEN_STACK,
  TREE_POOL_CAPACITY,
  TREE_SLOT_AREA,
  TREE_SLOT_SIZE,
  TREE_SLOTS,
  XML_DEPTH_MAX,
} from "../memory-map";
import { FIRMWARE_ONLY } from "../build";
import { Ascii, bytesEqual, bytesEqualAscii } from "../util/bytes";

export const NODE_ELEMENT: u8 = 1;
export const NODE_TEXT: u8 = 2;

/** TREE_NODE_SIZE bytes per node. For a text node, name holds the text and there are no attributes. */
@unmanaged
export class TreeNode {
  kind: u8; //            0
  level: u8; //           1  0 = the stanza element
  prefixLength: u16; //   2  bytes before ':' in a prefixed name, else 0
  end: u16; //            4  index just past the last node of this subtree
  attributeStart: u16; // 6
  attributeCount: u16; // 8
  nsLength: u16; //      10
  namePointer: u32; //   12
  nameLength: u32; //    16
  nsPointer: u32; //     20  namespace URI (tokenizer-built trees); 0 when the reader does not resolve namespaces
}

/** TREE_ATTR_SIZE bytes per attribute. */
@unmanaged
export class TreeAttribute {
  namePointer: u32;
  nameLength: u32;
  valuePointer: u32;
  valueLength: u32;
}

/** The slot header (TREE_HEADER_SIZE bytes). */
@unmanaged
export class TreeHeader {
  nodeCount: i32;
  attributeCount: i32;
  poolUsed: i32;
  overflowed: i32;
}

const NODES_OFFSET: usize = <usize>TREE_HEADER_SIZE;
const ATTRIBUTES_OFFSET: usize = NODES_OFFSET + <usize>TREE_NODES_MAX * <usize>TREE_NODE_SIZE;
const POOL_OFFSET: usize = ATTRIBUTES_OFFSET + <usize>TREE_ATTRS_MAX * <usize>TREE_ATTR_SIZE;

// The memory map's record sizes are the classes' layouts.
assert(offsetof<TreeNode>() == <usize>TREE_NODE_SIZE);
assert(offsetof<TreeAttribute>() == <usize>TREE_ATTR_SIZE);
assert(offsetof<TreeHeader>() == <usize>TREE_HEADER_SIZE);

/** A slot number the host may pass (stanza_next, stanza_dump, firmware_read): 0 .. TREE_SLOTS - 1. */
export function treeSlotValid(index: i32): bool {
  return index >= 0 && index < TREE_SLOTS;
}

/** Address of tree slot `index`. */
export function treeSlot(index: i32): usize {
  assert(index >= 0 && index < TREE_SLOTS);
  return TREE_SLOT_AREA + <usize>index * <usize>TREE_SLOT_SIZE;
}

// @ts-ignore: decorator
@inline export function treeHeader(tree: usize): TreeHeader {
  return changetype<TreeHeader>(tree);
}

export function treeNodeCount(tree: usize): i32 {
  return changetype<TreeHeader>(tree).nodeCount;
}

// @ts-ignore: decorator
@inline export function treeNode(tree: usize, index: i32): TreeNode {
  return changetype<TreeNode>(tree + NODES_OFFSET + <usize>index * <usize>TREE_NODE_SIZE);
}

// @ts-ignore: decorator
@inline export function treeAttribute(tree: usize, index: i32): TreeAttribute {
  return changetype<TreeAttribute>(tree + ATTRIBUTES_OFFSET + <usize>index * <usize>TREE_ATTR_SIZE);
}

// ---------------------------------------------------------------------------------------------------------------------
// Building. One tree is built at a time; its open elements are kept in TREE_OPEN_STACK.

let openDepth: i32 = 0;

/** Longest string poolCopy copies by words. */
const POOL_WORD_COPY_MAX: i32 = 64;

// @ts-ignore: decorator
@inline export function treeBegin(tree: usize): void {
  const header = changetype<TreeHeader>(tree);
  header.nodeCount = 0;
  header.attributeCount = 0;
  header.poolUsed = 0;
  header.overflowed = 0;
  openDepth = 0;
}

/** Copies bytes into the tree's pool; returns their new address, or 0 (and marks the tree overflowed) if full. */
// @ts-ignore: decorator
@inline function poolCopy(tree: usize, pointer: usize, length: i32): usize {
  const header = changetype<TreeHeader>(tree);
  const used = header.poolUsed;
  // Names and values are short: whole words (up to 7 bytes past the end, inside the pool, overwritten by the next copy;
  // the source's words lie inside memory, see the tokenizer's OVER_READ) cost less than memory.copy's call. Not in the
  // device build: there every inlined copy of this costs flash, and its reader is not a hot path.
  if (!FIRMWARE_ONLY && length <= POOL_WORD_COPY_MAX && length + 8 <= TREE_POOL_CAPACITY - used) {
    const at = tree + POOL_OFFSET + <usize>used;
    copyWords(at, pointer, length);
    header.poolUsed = used + length;
    return at;
  }
  return poolCopyLong(tree, pointer, length);
}

/** poolCopy's other case: long, or near the pool's end. */
function poolCopyLong(tree: usize, pointer: usize, length: i32): usize {
  const header = changetype<TreeHeader>(tree);
  if (length > TREE_POOL_CAPACITY - header.poolUsed) {
    header.overflowed = 1;
    return 0;
  }
  const at = tree + POOL_OFFSET + <usize>header.poolUsed;
  memory.copy(at, pointer, <usize>length);
  header.poolUsed += length;
  return at;
}

/** Copies `length` bytes by whole words, writing up to 7 bytes past them (the caller has room for that). */
// @ts-ignore: decorator
@inline function copyWords(at: usize, pointer: usize, length: i32): void {
  for (let i = 0; i < length; i += 8) store<u64>(at + <usize>i, load<u64>(pointer + <usize>i));
}

/** Reserves pool bytes for the caller to fill; 0 if full. */
export function treeReserve(tree: usize, length: i32): usize {
  const header = changetype<TreeHeader>(tree);
  if (length > TREE_POOL_CAPACITY - header.poolUsed) {
    header.overflowed = 1;
    return 0;
  }
  const at = tree + POOL_OFFSET + <usize>header.poolUsed;
  header.poolUsed += length;
  return at;
}

/** Gives back the unused tail of the last reservation. */
export function treeShrinkLast(tree: usize, reserved: i32, used: i32): void {
  changetype<TreeHeader>(tree).poolUsed -= reserved - used;
}

/**
 * Appends a node at the open depth; null if the tree is full. Inlined where the tokenizer builds trees (measured: 6 %
 * of the tree row); the device build, where flash counts and its reader is not a hot path, calls one copy.
 */
// @ts-ignore: decorator
@inline function newNode(tree: usize, kind: u8): TreeNode | null {
  return FIRMWARE_ONLY ? appendNodeCall(tree, kind) : appendNode(tree, kind);
}

function appendNodeCall(tree: usize, kind: u8): TreeNode | null {
  return appendNode(tree, kind);
}

// @ts-ignore: decorator
@inline function appendNode(tree: usize, kind: u8): TreeNode | null {
  const header = changetype<TreeHeader>(tree);
  if (header.nodeCount >= TREE_NODES_MAX) {
    header.overflowed = 1;
    return null;
  }
  const node = treeNode(tree, header.nodeCount);
  header.nodeCount++;
  node.kind = kind;
  node.level = <u8>openDepth;
  node.prefixLength = 0;
  node.end = <u16>header.nodeCount;
  node.attributeStart = <u16>header.attributeCount;
  node.attributeCount = 0;
  node.nsPointer = 0;
  node.nsLength = 0;
  return node;
}

/**
 * Opens an element under the current one. `nsIsParents`: the reader knows the namespace is the parent element's (the
 * same declaration), so its copy is shared without comparing. Returns false if the tree is full or too deep.
 */
// @ts-ignore: decorator
@inline export function treeOpenElement(
  tree: usize, name: usize, nameLength: i32, prefixLength: i32, ns: usize, nsLength: i32, nsIsParents: bool,
): bool {
  if (openDepth >= XML_DEPTH_MAX) {
    changetype<TreeHeader>(tree).overflowed = 1;
    return false;
  }
  const node = newNode(tree, NODE_ELEMENT);
  if (node == null) return false;
  const index = changetype<TreeHeader>(tree).nodeCount - 1;
  const namePointer = poolCopy(tree, name, nameLength);
  if (namePointer == 0 && nameLength > 0) return false;
  node.namePointer = <u32>namePointer;
  node.nameLength = <u32>nameLength;
  node.prefixLength = <u16>prefixLength;
  if (nsLength > 0) {
    // Most elements share their parent's namespace: reuse its copy.
    if (openDepth > 0) {
      const parent = treeNode(tree, load<i32>(TREE_OPEN_STACK + (<usize>(openDepth - 1) << 2)));
      if (nsIsParents || bytesEqual(parent.nsPointer, parent.nsLength, ns, nsLength)) {
        node.nsPointer = parent.nsPointer;
        node.nsLength = parent.nsLength;
      }
    }
    if (node.nsPointer == 0) {
      const nsPointer = poolCopy(tree, ns, nsLength);
      if (nsPointer == 0) return false;
      node.nsPointer = <u32>nsPointer;
      node.nsLength = <u16>nsLength;
    }
  }
  store<i32>(TREE_OPEN_STACK + (<usize>openDepth << 2), index);
  openDepth++;
  return true;
}

/** Adds an attribute to the element opened last (before any of its children). */
export function treeAddAttribute(tree: usize, name: usize, nameLength: i32, value: usize, valueLength: i32): bool {
  const header = changetype<TreeHeader>(tree);
  if (header.attributeCount >= TREE_ATTRS_MAX || openDepth == 0) {
    header.overflowed = 1;
    return false;
  }
  const attribute = treeAttribute(tree, header.attributeCount);
  const namePointer = poolCopy(tree, name, nameLength);
  const valuePointer = poolCopy(tree, value, valueLength);
  if (header.overflowed) return false;
  attribute.namePointer = <u32>namePointer;
  attribute.nameLength = <u32>nameLength;
  attribute.valuePointer = <u32>valuePointer;
  attribute.valueLength = <u32>valueLength;
  header.attributeCount++;
  treeNode(tree, load<i32>(TREE_OPEN_STACK + (<usize>(openDepth - 1) << 2))).attributeCount++;
  return true;
}

/**
 * Adds `count` attributes to the element opened last, from a table of records laid out as TreeAttribute (the
 * tokenizer's XML_ATTR_TABLE): one capacity check and one count update for the whole start tag.
 */
// @ts-ignore: decorator
@inline export function treeAddAttributes(tree: usize, records: usize, count: i32): bool {
  if (count == 0) return true;
  const header = changetype<TreeHeader>(tree);
  if (count > TREE_ATTRS_MAX - header.attributeCount || openDepth == 0) {
    header.overflowed = 1;
    return false;
  }
  for (let i = 0; i < count; i++) {
    const record = changetype<TreeAttribute>(records + <usize>i * <usize>TREE_ATTR_SIZE);
    const attribute = treeAttribute(tree, header.attributeCount + i);
    attribute.nameLength = record.nameLength;
    attribute.valueLength = record.valueLength;
    attribute.namePointer = <u32>poolCopy(tree, record.namePointer, record.nameLength);
    attribute.valuePointer = <u32>poolCopy(tree, record.valuePointer, record.valueLength);
  }
  if (header.overflowed) return false;
  header.attributeCount += count;
  treeNode(tree, load<i32>(TREE_OPEN_STACK + (<usize>(openDepth - 1) << 2))).attributeCount += <u16>count;
  return true;
}

/** Adds a text node under the current element, copying the text. */
// @ts-ignore: decorator
@inline export function treeAddText(tree: usize, text: usize, length: i32): bool {
  const pointer = poolCopy(tree, text, length);
  if (pointer == 0 && length > 0) return false;
  return treeAddTextAt(tree, pointer, length);
}

/** Adds a text node whose bytes are already in the tree's pool (see treeReserve). */
// @ts-ignore: decorator
@inline export function treeAddTextAt(tree: usize, pointer: usize, length: i32): bool {
  const node = newNode(tree, NODE_TEXT);
  if (node == null) return false;
  node.namePointer = <u32>pointer;
  node.nameLength = <u32>length;
  // Text lies inside the open element, one level below it (newNode took the open depth as level).
  return true;
}

/** Closes the element opened last: its subtree ends here. Inlined, or one copy in the device build (see newNode). */
// @ts-ignore: decorator
@inline export function treeCloseElement(tree: usize): void {
  if (FIRMWARE_ONLY) closeElementCall(tree);
  else closeElement(tree);
}

function closeElementCall(tree: usize): void {
  closeElement(tree);
}

// @ts-ignore: decorator
@inline function closeElement(tree: usize): void {
  if (openDepth == 0) return;
  openDepth--;
  const node = treeNode(tree, load<i32>(TREE_OPEN_STACK + (<usize>openDepth << 2)));
  node.end = <u16>changetype<TreeHeader>(tree).nodeCount;
}

// ---------------------------------------------------------------------------------------------------------------------
// Reading

/** Index (in the tree's attribute table) of the element's attribute `name`, or -1. */
export function treeAttributeIndex(tree: usize, element: i32, name: Ascii): i32 {
  const node = treeNode(tree, element);
  const start = <i32>node.attributeStart;
  const end = start + <i32>node.attributeCount;
  for (let i = start; i < end; i++) {
    const attribute = treeAttribute(tree, i);
    if (bytesEqualAscii(attribute.namePointer, attribute.nameLength, name)) return i;
  }
  return -1;
}

