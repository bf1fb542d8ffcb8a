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

/** Body sizes of the module's functions, by name (needs a name section: build/rabbit.sizes.wasm has one). */
export function functionSizes(binary: Uint8Array): { name: string; size: number }[] {
  let offset = 8;
  let importedFunctions = 0;
  const sizes: number[] = [];
  const names = new Map<number, string>();
  const text = (from: number, length: number) => Buffer.from(binary.subarray(from, from + length)).toString("utf8");
  while (offset < binary.length) {
    const id = binary[offset++]!;
    let size: number;
    [size, offset] = readUnsigned(binary, offset);
    const end = offset + size;
    let at = offset;
    if (id === 2) {
      let count: number;
      [count, at] = readUnsigned(binary, at);
      for (let i = 0; i < count; i++) {
        let length: number;
        [length, at] = readUnsigned(binary, at);
        at += length;
        [length, at] = readUnsigned(binary, at);
        at += length;
        const kind = binary[at++]!;
        if (kind === 0) {
          [, at] = readUnsigned(binary, at);
          importedFunctions++;
        } else if (kind === 1) {
          at++;
          const flags = binary[at++]!;
          [, at] = readUnsigned(binary, at);
          if (flags & 1) [, at] = readUnsigned(binary, at);
        } else if (kind === 2) {
          const flags = binary[at++]!;
          [, at] = readUnsigned(binary, at);
          if (flags & 1) [, at] = readUnsigned(binary, at);
        } else {
          at += 2;
        }
      }
    } else if (id === 10) {
      let count: number;
      [count, at] = readUnsigned(binary, at);
      for (let i = 0; i < count; i++) {
        let bodySize: number;
        [bodySize, at] = readUnsigned(binary, at);
        sizes.push(bodySize);
        at += bodySize;
      }
    } else if (id === 0) {
      let length: number;
      [length, at] = readUnsigned(binary, at);
      if (text(at, length) === "name") {
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
      }
    }
    offset = end;
  }
  return sizes.map((size, i) => ({ name: names.get(i + importedFunctions) ?? `function ${i}`, size }));
}
