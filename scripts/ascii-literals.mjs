// An asc transform (asconfig.json, "transform"): every string literal in the module's own sources (assembly/) becomes
// a byte string in static memory, the way the firmware keeps its text: its length (one byte) then its bytes, one byte
// per character. The literal's value is that address, an `Ascii` (assembly/util/bytes.ts: a usize), never an
// AssemblyScript string (UTF-16 behind a 20-byte object header: 2n + 20 bytes for n characters instead of n + 1).
//
// Where a literal stands decides what it becomes, so that text only dead code uses is not in the module:
//   - in a function (the usual place): a call of a function made per file and per distinct text,
//     `function __ascii_N(): usize { return memory.data<u8>([LENGTH, BYTES...]); }`. asc compiles a function only when
//     something it compiles calls it, so a literal in a branch that a build constant removes (assembly/build.ts)
//     never reaches the data; a literal used twice in a file is stored once. The optimizer inlines the call (it
//     returns a constant address): no call is left in the release builds.
//   - at the top level of a file, or in an array literal (tables of names): `memory.data<u8>([LENGTH, BYTES...])`
//     in place, a constant the compiler can put in a static array. A top-level constant that is a literal
//     (`const NS_TLS = "urn:..."`) is made `@lazy`: compiled, and its bytes reserved, only if something uses it.
// Decorator arguments (`@external("vm", "uart_write")`) and import and export paths are not literals in this sense
// and are left alone. A character above 0xFF or a literal longer than 255 bytes is an error here, at compile time.

import { ArrowKind, CommonFlags, LiteralKind, Node, NodeKind } from "assemblyscript";
import { Transform } from "assemblyscript/transform";

/** The longest literal a one-byte length can say. */
const LITERAL_BYTES_MAX = 255;
/** Sources whose literals are rewritten: the module's own (the standard library keeps its strings). */
const OWN_SOURCES = /^assembly\//;
/** Statements that hold paths or decorator arguments, not text. */
const SKIPPED_KINDS = new Set([NodeKind.Import, NodeKind.Export, NodeKind.ExportImport, NodeKind.Decorator]);

const isNode = (value) => value !== null && typeof value === "object" && typeof value.kind === "number" && "range" in value;
const isStringLiteral = (node) => node.kind === NodeKind.Literal && node.literalKind === LiteralKind.String;
const isArrayLiteral = (node) => node.kind === NodeKind.Literal && node.literalKind === LiteralKind.Array;

/** The bytes of a literal: its length, then one byte per character. */
function literalBytes(text, source, range) {
  const where = () => `${source.normalizedPath}:${source.lineAt(range.start)}`;
  if (text.length > LITERAL_BYTES_MAX) throw new Error(`${where()}: a literal of ${text.length} characters (at most ${LITERAL_BYTES_MAX})`);
  const bytes = [text.length];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new Error(`${where()}: character U+${code.toString(16).padStart(4, "0")} in a literal (bytes only)`);
    bytes.push(code);
  }
  return bytes;
}

/** `memory.data<u8>([bytes])`: the address of static bytes. */
function staticBytes(bytes, range) {
  const memoryData = Node.createPropertyAccessExpression(Node.createIdentifierExpression("memory", range), Node.createIdentifierExpression("data", range), range);
  const u8 = Node.createNamedType(Node.createSimpleTypeName("u8", range), null, false, range);
  // eslint-disable-next-line no-undef -- i64_new is asc's own global, for i64 literals in the AST
  const values = bytes.map((b) => Node.createIntegerLiteralExpression(i64_new(b, 0), range));
  return Node.createCallExpression(memoryData, [u8], [Node.createArrayLiteralExpression(values, range)], range);
}

/** `function NAME(): usize { return memory.data<u8>([bytes]); }` */
function bytesFunction(name, bytes, range) {
  const usize = Node.createNamedType(Node.createSimpleTypeName("usize", range), null, false, range);
  const signature = Node.createFunctionType([], usize, null, false, range);
  const body = Node.createBlockStatement([Node.createReturnStatement(staticBytes(bytes, range), range)], range);
  return Node.createFunctionDeclaration(Node.createIdentifierExpression(name, range), null, CommonFlags.None, null, signature, body, ArrowKind.None, range);
}

/** `@lazy` on each declaration of a top-level `const` statement whose value is a literal. */
function lazyLiteralConstants(statement) {
  if (statement.kind !== NodeKind.Variable) return;
  for (const declaration of statement.declarations) {
    if (!declaration.initializer || !isStringLiteral(declaration.initializer)) continue;
    const range = declaration.range;
    const lazy = Node.createDecorator(Node.createIdentifierExpression("lazy", range), null, range);
    declaration.decorators = [...(declaration.decorators ?? []), lazy];
  }
}

/** Rewrites one source's literals; returns how many. */
function rewriteSource(source) {
  source.statements.forEach(lazyLiteralConstants);
  const functions = new Map(); // text -> function name
  const added = [];
  let count = 0;
  const replacement = (literal, inPlace) => {
    count++;
    const bytes = literalBytes(literal.value, source, literal.range);
    if (inPlace) return staticBytes(bytes, literal.range);
    let name = functions.get(literal.value);
    if (name === undefined) {
      name = `__ascii_${functions.size}`;
      functions.set(literal.value, name);
      added.push(bytesFunction(name, bytes, literal.range));
    }
    return Node.createCallExpression(Node.createIdentifierExpression(name, literal.range), null, [], literal.range);
  };
  // An explicit stack of (node, in place?) instead of recursion: the AST is deep, and this runs in the compiler.
  const stack = source.statements.map((statement) => [statement, statement.kind === NodeKind.Variable]);
  while (stack.length > 0) {
    const [node, inPlace] = stack.pop();
    if (SKIPPED_KINDS.has(node.kind)) continue;
    const childInPlace = inPlace || isArrayLiteral(node);
    for (const key of Object.keys(node)) {
      if (key === "range" || key === "decorators") continue;
      const value = node[key];
      const children = Array.isArray(value) ? value : [value];
      children.forEach((child, index) => {
        if (!isNode(child)) return;
        if (!isStringLiteral(child)) {
          stack.push([child, childInPlace]);
          return;
        }
        const rewritten = replacement(child, childInPlace);
        if (Array.isArray(value)) value[index] = rewritten;
        else node[key] = rewritten;
      });
    }
  }
  source.statements.push(...added);
  return count;
}

export default class AsciiLiterals extends Transform {
  afterParse(parser) {
    for (const source of parser.sources) {
      if (OWN_SOURCES.test(source.normalizedPath)) rewriteSource(source);
    }
  }
}
