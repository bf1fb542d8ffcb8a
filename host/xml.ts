// The host's view of the module's XML tokenizer: event and error names, and the XmlEvent record at XML_EVENT
// (assembly/xml/tokenizer.ts). For tests, the self-check and tools; the rabbit itself consumes events inside the module.

import type { Core } from "./core.js";

export const XML_EVENT_KINDS = ["NEED_MORE", "STREAM_START", "ELEMENT_START", "ATTRIBUTE", "ELEMENT_END", "TEXT", "STREAM_END"] as const;

/**
 * Tokenizer errors, in the module's order: XML_ERROR_<NAME> = -(index + 1) (assembly/xml/tokenizer.ts), and what
 * each means in words.
 */
export const XML_ERROR_NAMES = [
  ["MALFORMED", "malformed"],
  ["MISMATCHED_TAG", "mismatched tag"],
  ["UNQUOTED_ATTRIBUTE", "unquoted attribute"],
  ["LT_IN_ATTRIBUTE", "'<' in attribute value"],
  ["BAD_CHARACTER_REFERENCE", "bad character reference"],
  ["BAD_ENTITY", "bad entity"],
  ["UNKNOWN_ENTITY", "unknown entity"],
  ["DOCTYPE", "DOCTYPE"],
  ["COMMENT", "comment"],
  ["PROCESSING_INSTRUCTION", "processing instruction"],
  ["INVALID_UTF8", "invalid UTF-8"],
  ["INVALID_CHARACTER", "invalid character"],
  ["TOO_DEEP", "too deep"],
  ["NAME_TOO_LONG", "name too long"],
  ["TOO_MANY_ATTRIBUTES", "too many attributes"],
  ["ATTRIBUTE_TOO_LONG", "attribute value too long"],
  ["TEXT_TOO_LONG", "text too long"],
  ["TAG_TOO_LARGE", "start tag too large"],
  ["DUPLICATE_ATTRIBUTE", "duplicate attribute"],
  ["UNBOUND_PREFIX", "unbound prefix"],
  ["TOO_MANY_NAMESPACES", "too many namespace declarations"],
  ["TEXT_OUTSIDE_STANZA", "text outside a stanza"],
  ["CDATA_END_IN_TEXT", "']]>' in text"],
] as const;

/** Tokenizer errors by code. */
export const XML_ERRORS: Record<number, string> = Object.fromEntries(XML_ERROR_NAMES.map(([, text], index) => [-(index + 1), text]));

export const XML_ERROR_CODES = Object.fromEntries(
  Object.entries(XML_ERRORS).map(([code, name]) => [name, Number(code)]),
) as Record<string, number>;

export interface XmlEvent {
  kind: (typeof XML_EVENT_KINDS)[number];
  level: number;
  name?: string;
  prefixLength?: number;
  ns?: string;
  value?: string;
  attributeCount?: number;
}

/** Reads the event the module just produced (kind > 0). Strings are decoded as UTF-8. */
export function readXmlEvent(core: Core, kind: number): XmlEvent {
  const base = core.exports.XML_EVENT.value as number;
  const view = new DataView(core.exports.memory.buffer, base, 44);
  const text = (pointer: number, length: number) => Buffer.from(core.bytes.subarray(pointer, pointer + length)).toString("utf8");
  const event: XmlEvent = { kind: XML_EVENT_KINDS[kind]!, level: view.getInt32(4, true) };
  const name = () => text(view.getUint32(8, true), view.getInt32(12, true));
  switch (event.kind) {
    case "STREAM_START":
    case "ELEMENT_START":
      event.name = name();
      event.prefixLength = view.getInt32(24, true);
      event.ns = text(view.getUint32(28, true), view.getInt32(32, true));
      event.attributeCount = view.getInt32(36, true);
      break;
    case "ELEMENT_END":
    case "STREAM_END":
      event.name = name();
      event.ns = text(view.getUint32(28, true), view.getInt32(32, true));
      break;
    case "ATTRIBUTE":
      event.name = name();
      event.value = text(view.getUint32(16, true), view.getInt32(20, true));
      break;
    case "TEXT":
      event.value = text(view.getUint32(16, true), view.getInt32(20, true));
      break;
  }
  return event;
}

/** Result of tokenizing: the events, and the error that stopped the tokenizer, if any. */
export interface Tokenized {
  events: XmlEvent[];
  error?: string;
  errorCode?: number;
}

/**
 * Feeds chunks to the module's tokenizer (after xml_reset) and collects the events, stopping at the first error.
 * Chunks larger than the input buffer are fed in pieces.
 */
export function tokenize(core: Core, chunks: Iterable<Uint8Array>): Tokenized {
  const e = core.exports;
  e.xml_reset();
  const events: XmlEvent[] = [];
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length || (chunk.length === 0 && at === 0); at += core.inputCapacity) {
      const piece = chunk.subarray(at, at + core.inputCapacity);
      if (e.xml_feed(core.put(piece), piece.length) !== 0) throw new Error("tokenizer still holds unconsumed input");
      for (;;) {
        const kind = e.xml_next();
        if (kind === 0) break;
        if (kind < 0) return { events, error: XML_ERRORS[kind] ?? `error ${kind}`, errorCode: kind };
        events.push(readXmlEvent(core, kind));
      }
      if (chunk.length === 0) break;
    }
  }
  return { events };
}
