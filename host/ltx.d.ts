// ltx ships no type declarations: the part the lab platform and the benchmark use.

declare module "ltx" {
  export class Element {
    constructor(name: string, attrs?: Record<string, string | undefined>);
    name: string;
    attrs: Record<string, string>;
    children: (Element | string)[];
    parent: Element | null;
    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    getAttr(name: string): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    getText(): string;
    getChildText(name: string, xmlns?: string): string | null;
    c(name: string, attrs?: Record<string, string | undefined>): Element;
    cnode(child: Element): Element;
    t(text: string): Element;
    up(): Element;
    root(): Element;
    toString(): string;
  }
  export function escapeXML(text: string): string;
}

declare module "ltx/src/parsers/ltx.js" {
  import { EventEmitter } from "node:events";
  export default class SaxLtx extends EventEmitter {
    write(data: string | Buffer): void;
    end(data?: string | Buffer): void;
  }
}
