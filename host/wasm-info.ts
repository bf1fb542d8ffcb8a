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
