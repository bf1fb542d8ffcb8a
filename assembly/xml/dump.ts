// The debug dump of a received stanza, in the firmware's format (spec §12), one UART line per node:
//   element    "    |" + "."×2·level + name
//   attribute  "    | " + " "×2·level + name + " => " + value
//   text       "    !" + "."×2·level + text
// Values and text are printed raw. The caller logs "Receive : " before it where the firmware did.

import { uartBegin, uartEnd } from "../vm/uart";
import { NODE_ELEMENT, treeAttribute, treeNode, treeNodeCount } from "./tree";

export function dumpTree(tree: usize): void {
  const count = treeNodeCount(tree);
  for (let i = 0; i < count; i++) {
    const node = treeNode(tree, i);
    const indent = <i32>node.level << 1;
    if (node.kind != NODE_ELEMENT) {
      const line = uartBegin();
      line.ascii("    !");
      line.repeat(0x2e, indent);
      line.bytes(node.namePointer, node.nameLength);
      uartEnd();
      continue;
    }
    let line = uartBegin();
    line.ascii("    |");
    line.repeat(0x2e, indent);
    line.bytes(node.namePointer, node.nameLength);
    uartEnd();
    const end = <i32>node.attributeStart + <i32>node.attributeCount;
    for (let a = <i32>node.attributeStart; a < end; a++) {
      const attribute = treeAttribute(tree, a);
      line = uartBegin();
      line.ascii("    | ");
      line.repeat(0x20, indent);
      line.bytes(attribute.namePointer, attribute.nameLength);
      line.ascii(" => ");
      line.bytes(attribute.valuePointer, attribute.valueLength);
      uartEnd();
    }
  }
}
