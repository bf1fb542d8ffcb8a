// Facts read straight from a WebAssembly binary: its memory limits and its imports and exports, for the memory-map
// report, the size figures and the tests.

/** Reads an unsigned LEB128 at `offset`; returns [value, next offset]. */
function readUnsigned(bytes: Uint8Array, offset: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[offset++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, offset];
    shift += 7;
  }
}

export interface MemoryLimits {
  /** In 64 KiB pages. */
  initial: number;
  maximum: number | undefined;
  exported: boolean;
}

/** The limits of the module's own (defined, not imported) memory. */
export function memoryLimits(binary: Uint8Array): MemoryLimits {
  let offset = 8;
  while (offset < binary.length) {
    const id = binary[offset++]!;
    let size: number;
    [size, offset] = readUnsigned(binary, offset);
    if (id === 5) {
      let count: number;
      let at: number;
      [count, at] = readUnsigned(binary, offset);
      if (count !== 1) throw new Error(`expected one memory, found ${count}`);
      const flags = binary[at++]!;
      let initial: number;
      [initial, at] = readUnsigned(binary, at);
      let maximum: number | undefined;
      if (flags & 1) [maximum] = readUnsigned(binary, at);
      const exported = WebAssembly.Module.exports(new WebAssembly.Module(binary)).some((e) => e.kind === "memory");
      return { initial, maximum, exported };
    }
    offset += size;
  }
  throw new Error("the module defines no memory");
}

/** The module's sections: id and the byte range of each one's content. */
function sections(binary: Uint8Array): { id: number; start: number; end: number }[] {
  const out: { id: number; start: number; end: number }[] = [];
  let offset = 8;
  while (offset < binary.length) {
    const id = binary[offset++]!;
    let size: number;
    [size, offset] = readUnsigned(binary, offset);
    out.push({ id, start: offset, end: offset + size });
    offset += size;
  }
  return out;
}

/** The code section's body sizes, in function order (imports excluded). */
function bodySizes(binary: Uint8Array, start: number): number[] {
  const sizes: number[] = [];
  let count: number;
  let at = start;
  [count, at] = readUnsigned(binary, at);
  for (let i = 0; i < count; i++) {
    let bodySize: number;
    [bodySize, at] = readUnsigned(binary, at);
    sizes.push(bodySize);
    at += bodySize;
  }
  return sizes;
}

/** The function names of a custom "name" section (subsection 1), by function index; none if it is another section. */
function functionNames(binary: Uint8Array, start: number, end: number): Map<number, string> {
  const names = new Map<number, string>();
  const text = (from: number, length: number) => Buffer.from(binary.subarray(from, from + length)).toString("utf8");
  let at = start;
  let length: number;
  [length, at] = readUnsigned(binary, at);
  if (text(at, length) !== "name") return names;
  at += length;
  while (at < end) {
    const subsection = binary[at++]!;
    let subsectionSize: number;
    [subsectionSize, at] = readUnsigned(binary, at);
    const subsectionEnd = at + subsectionSize;
    if (subsection === 1) {
      let count: number;
      [count, at] = readUnsigned(binary, at);
      for (let i = 0; i < count; i++) {
        let index: number;
        let nameLength: number;
        [index, at] = readUnsigned(binary, at);
        [nameLength, at] = readUnsigned(binary, at);
        names.set(index, text(at, nameLength));
        at += nameLength;
      }
    }
    at = subsectionEnd;
  }
  return names;
}

/** Body sizes of the module's functions, by name (needs a name section: build/rabbit.sizes.wasm has one). */
export function functionSizes(binary: Uint8Array): { name: string; size: number }[] {
  const imported = WebAssembly.Module.imports(new WebAssembly.Module(binary)).filter((entry) => entry.kind === "function").length;
  let sizes: number[] = [];
  let names = new Map<number, string>();
  for (const section of sections(binary)) {
    if (section.id === 10) sizes = bodySizes(binary, section.start);
    else if (section.id === 0 && names.size === 0) names = functionNames(binary, section.start, section.end);
  }
  return sizes.map((size, i) => ({ name: names.get(i + imported) ?? `function ${i}`, size }));
}

/** A function's signature: its number of parameters and results (every one an i32 in the rabbit's ABI). */
export interface FunctionSignature {
  name: string;
  params: number;
  results: number;
}

/** A name (a length and UTF-8 bytes) at `at`; returns [text, next offset]. */
function readName(binary: Uint8Array, at: number): [string, number] {
  let length: number;
  [length, at] = readUnsigned(binary, at);
  return [Buffer.from(binary.subarray(at, at + length)).toString("utf8"), at + length];
}

/** The type section's function types: parameter and result counts. */
function functionTypes(binary: Uint8Array, start: number): { params: number; results: number }[] {
  const types: { params: number; results: number }[] = [];
  let count: number;
  let at = start;
  [count, at] = readUnsigned(binary, at);
  for (let i = 0; i < count; i++) {
    if (binary[at++] !== 0x60) throw new Error("a type that is not a function type");
    let params: number;
    let results: number;
    [params, at] = readUnsigned(binary, at);
    at += params;
    [results, at] = readUnsigned(binary, at);
    at += results;
    types.push({ params, results });
  }
  return types;
}

/** Skips an import's description after its kind byte (table, memory, global); returns the next offset. */
function skipImportDescription(binary: Uint8Array, kind: number, at: number): number {
  if (kind === 1) at++; // a table's element type, then limits
  if (kind === 1 || kind === 2) {
    const flags = binary[at++]!;
    [, at] = readUnsigned(binary, at);
    if (flags & 1) [, at] = readUnsigned(binary, at);
    return at;
  }
  return at + 2; // a global: value type, mutability
}

/** The signatures of a module's imported functions ("module.name") and exported functions, by name. */
export function functionSignatures(binary: Uint8Array): { imports: FunctionSignature[]; exports: FunctionSignature[] } {
  const all = sections(binary);
  const types = all.filter((s) => s.id === 1).flatMap((s) => functionTypes(binary, s.start));
  const functionType: number[] = [];
  const imports: FunctionSignature[] = [];
  const exports: FunctionSignature[] = [];
  for (const section of all) {
    let at = section.start;
    let count: number;
    if (section.id !== 2 && section.id !== 3 && section.id !== 7) continue;
    [count, at] = readUnsigned(binary, at);
    for (let i = 0; i < count; i++) {
      if (section.id === 3) {
        let type: number;
        [type, at] = readUnsigned(binary, at);
        functionType.push(type);
        continue;
      }
      let first: string;
      [first, at] = readName(binary, at);
      if (section.id === 2) {
        let field: string;
        [field, at] = readName(binary, at);
        const kind = binary[at++]!;
        if (kind !== 0) {
          at = skipImportDescription(binary, kind, at);
          continue;
        }
        let type: number;
        [type, at] = readUnsigned(binary, at);
        functionType.push(type);
        imports.push({ name: `${first}.${field}`, ...types[type]! });
        continue;
      }
      const kind = binary[at++]!;
      let index: number;
      [index, at] = readUnsigned(binary, at);
      if (kind === 0) exports.push({ name: first, ...types[functionType[index]!]! });
    }
  }
  return { imports, exports };
}
