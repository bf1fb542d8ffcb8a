// The lab's XML stream reader: the stream header, then each top-level element as an ltx Element. Built on saxes, a
// strict XML 1.0 parser (well-formedness errors, no DTD processing), not on the rabbit's tokenizer: the lab shares
// nothing with the rabbit but the wire. ltx's own SAX parser was lenient where a hostile peer is not (an unquoted
// attribute stalled it silently; a DOCTYPE was skipped): here either is a clear error. Restricted XML as RFC 6120
// §11.1 wants it: a DOCTYPE, comments and processing instructions are refused. Whitespace between stanzas (the
// rabbit's keep-alive) is ignored. Every stanza is bounded in bytes, text and depth (StreamLimits).

import { Element } from "ltx";
import { StringDecoder } from "node:string_decoder";
import { SaxesParser, type SaxesTagPlain } from "saxes";

export interface StreamHandlers {
  header(attrs: Record<string, string>): void;
  stanza(element: Element): void;
  end(): void;
  /** `limit`: one of the reader's bounds was passed (policy-violation); otherwise the XML is bad or restricted. */
  error(message: string, limit: boolean): void;
}

/** The reader's bounds (limits.ts gives the lab's). */
export interface StreamLimits {
  stanzaBytesMax: number;
  textCharsMax: number;
  depthMax: number;
}

export class XmlStreamReader {
  private parser!: SaxesParser<{ xmlns: false }>;
  private decoder = new StringDecoder("utf8");
  private depth = 0;
  private current: Element | undefined;
  /** Bytes and text characters received since the current stanza opened (-1: none is open). */
  private stanzaBytes = -1;
  private textChars = 0;
  private failed = false;

  constructor(private readonly handlers: StreamHandlers, private readonly limits: StreamLimits) {
    this.reset();
  }

  /** A new stream on the same connection (after SASL success). */
  reset(): void {
    this.parser = new SaxesParser({ xmlns: false, position: false });
    this.decoder = new StringDecoder("utf8");
    this.depth = 0;
    this.current = undefined;
    this.stanzaBytes = -1;
    this.failed = false;
    const parser = this.parser;
    parser.on("opentag", (tag) => this.open(tag));
    parser.on("closetag", () => this.close());
    parser.on("text", (text) => this.text(text));
    parser.on("cdata", (text) => this.text(text));
    parser.on("doctype", () => this.fail("a DOCTYPE (restricted XML)", false));
    parser.on("comment", () => this.fail("a comment (restricted XML)", false));
    parser.on("processinginstruction", () => this.fail("a processing instruction (restricted XML)", false));
    parser.on("error", (error) => this.fail(error.message, false));
  }

  /** Feeds bytes; a bound passed, or bad XML, is reported once through `error` and nothing more is read. */
  write(data: Buffer): void {
    if (this.failed) return;
    if (this.stanzaBytes >= 0) {
      this.stanzaBytes += data.length;
      if (this.stanzaBytes > this.limits.stanzaBytesMax) {
        this.fail(`a stanza larger than ${this.limits.stanzaBytesMax} bytes`, true);
        return;
      }
    }
    try {
      this.parser.write(this.decoder.write(data));
    } catch (error) {
      this.fail(error instanceof Error ? error.message : String(error), false);
    }
  }

  private fail(message: string, limit: boolean): void {
    if (this.failed) return;
    this.failed = true;
    this.handlers.error(message, limit);
  }

  private open(tag: SaxesTagPlain): void {
    if (this.failed) return;
    if (this.depth > this.limits.depthMax) {
      this.fail(`nested deeper than ${this.limits.depthMax}`, true);
      return;
    }
    const attrs = tag.attributes as Record<string, string>;
    if (this.depth === 0) {
      this.depth++;
      this.handlers.header(attrs);
      return;
    }
    if (this.depth === 1) {
      this.stanzaBytes = 0;
      this.textChars = 0;
    }
    const element = new Element(tag.name, attrs);
    if (this.current) this.current.cnode(element);
    this.current = element;
    this.depth++;
  }

  private close(): void {
    if (this.failed) return;
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
      this.stanzaBytes = -1;
      this.handlers.stanza(element);
    }
  }

  private text(text: string): void {
    if (this.failed) return;
    if (!this.current) {
      // Between stanzas only whitespace is allowed (the keep-alive).
      if (/\S/.test(text)) this.fail("text between stanzas", false);
      return;
    }
    this.textChars += text.length;
    if (this.textChars > this.limits.textCharsMax) {
      this.fail(`more than ${this.limits.textCharsMax} characters of text in one stanza`, true);
      return;
    }
    this.current.t(text);
  }
}
