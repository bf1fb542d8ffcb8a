// The lab's XML stream reader: the stream header, then each top-level element as an ltx Element. Built on ltx's
// SAX parser (the one xmpp.js uses), not on the rabbit's tokenizer: the lab shares nothing with the rabbit but the
// wire. Whitespace between stanzas (the rabbit's keep-alive) is ignored.

import { Element } from "ltx";
import SaxLtx from "ltx/src/parsers/ltx.js";
import { StringDecoder } from "node:string_decoder";

export interface StreamHandlers {
  header(attrs: Record<string, string>): void;
  stanza(element: Element): void;
  end(): void;
  error(message: string): void;
}

export class XmlStreamReader {
  private parser!: SaxLtx;
  private decoder = new StringDecoder("utf8");
  private depth = 0;
  private current: Element | undefined;

  constructor(private readonly handlers: StreamHandlers) {
    this.reset();
  }

  /** A new stream on the same connection (after SASL success). */
  reset(): void {
    this.parser = new SaxLtx();
    this.decoder = new StringDecoder("utf8");
    this.depth = 0;
    this.current = undefined;
    this.parser.on("startElement", (name: string, attrs: Record<string, string>) => {
      if (this.depth === 0) {
        this.handlers.header(attrs);
      } else {
        const element = new Element(name, attrs);
        if (this.current) this.current.cnode(element);
        this.current = element;
      }
      this.depth++;
    });
    this.parser.on("endElement", () => {
      this.depth--;
      if (this.depth === 0) {
        this.handlers.end();
        return;
      }
      const element = this.current!;
      this.current = element.parent ?? undefined;
      if (this.depth === 1) {
        element.parent = null;
        this.current = undefined;
        this.handlers.stanza(element);
      }
    });
    this.parser.on("text", (text: string) => {
      if (this.current) this.current.t(text);
    });
    this.parser.on("error", (error: Error) => this.handlers.error(error.message));
  }

  write(data: Buffer): void {
    this.parser.write(this.decoder.write(data));
  }
}
