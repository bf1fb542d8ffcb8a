// The part of the WebAssembly JavaScript API the host uses. Node 20 provides it at run time; TypeScript declares it
// only in its DOM library, which a Node program should not pull in.

declare namespace WebAssembly {
  type ImportValue = Function | Global | Memory | number;
  type Imports = Record<string, Record<string, ImportValue>>;
  type Exports = Record<string, Function | Global | Memory>;

  interface ModuleExportDescriptor {
    name: string;
    kind: "function" | "table" | "memory" | "global";
  }
  interface ModuleImportDescriptor extends ModuleExportDescriptor {
    module: string;
  }

  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
    static exports(module: Module): ModuleExportDescriptor[];
    static imports(module: Module): ModuleImportDescriptor[];
  }

  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }

  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }

  class Global {
    readonly value: unknown;
  }

  class RuntimeError extends Error {}
  class CompileError extends Error {}
  class LinkError extends Error {}
}
