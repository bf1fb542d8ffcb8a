// ltx ships no type declarations; this is the part of its SAX parser the benchmark uses.
declare module "ltx/src/parsers/ltx.js" {
  import { EventEmitter } from "node:events";
  export default class SaxLtx extends EventEmitter {
    write(data: string | Buffer): void;
    end(data?: string | Buffer): void;
  }
}
