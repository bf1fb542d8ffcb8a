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
