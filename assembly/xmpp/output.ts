// Building what the rabbit sends. A stanza is written straight into TX, behind the bytes still waiting there, and
// then offered to the connection (transport.ts). Stanzas the rabbit sends on its own (button, ears) can be written
// to OUTBOX instead, to leave when the state machine is free. A stanza that does not fit is dropped whole: its start
// never leaves without its end.

import { OUTBOX, OUTBOX_CAPACITY, OUTPUT_WRITER, TX, TX_CAPACITY } from "../memory-map";
import { fieldData, fieldLength } from "../util/field";
import { staticWriter, Writer } from "../util/writer";

/** Bytes waiting in TX (offered to the connection from index 0), and in OUTBOX. */
export let txLength: i32 = 0;
export let outboxLength: i32 = 0;

let writingOutbox = false;
let startLength = 0;

/** Starts a stanza in TX (or, with `outbox`, in OUTBOX). Append with the writer and the helpers below, then call end. */
export function begin(outbox: bool = false): Writer {
  writingOutbox = outbox;
  const writer = outbox ? staticWriter(OUTPUT_WRITER, OUTBOX, OUTBOX_CAPACITY) : staticWriter(OUTPUT_WRITER, TX, TX_CAPACITY);
  writer.length = startLength = outbox ? outboxLength : txLength;
  return writer;
}

/** Ends the stanza: keeps it if it fit (true), else takes it back whole (false). */
export function end(): bool {
  const writer = changetype<Writer>(OUTPUT_WRITER);
  if (writer.overflowed) {
    writer.length = startLength;
    return false;
  }
  if (writingOutbox) outboxLength = writer.length;
  else txLength = writer.length;
  return true;
}

/** The connection took `count` bytes from the front of TX. */
export function txConsumed(count: i32): void {
  if (count <= 0) return;
  if (count >= txLength) {
    txLength = 0;
    return;
  }
  memory.copy(TX, TX + <usize>count, <usize>(txLength - count));
  txLength -= count;
}

export function txClear(): void {
  txLength = 0;
}

/** Moves OUTBOX into TX, as far as whole bytes go (the outbox only ever holds whole stanzas). */
export function outboxToTx(): bool {
  if (outboxLength == 0) return false;
  if (txLength + outboxLength > TX_CAPACITY) return false;
  memory.copy(TX + <usize>txLength, OUTBOX, <usize>outboxLength);
  txLength += outboxLength;
  outboxLength = 0;
  return true;
}

export function outboxClear(): void {
  outboxLength = 0;
}

/** Appends bytes as XML character data or attribute value: & < > ' " are escaped. */
export function escaped(writer: Writer, pointer: usize, length: i32): void {
  for (let i = 0; i < length; i++) {
    const c = <i32>load<u8>(pointer + i);
    if (c == 0x26) writer.ascii("&amp;");
    else if (c == 0x3c) writer.ascii("&lt;");
    else if (c == 0x3e) writer.ascii("&gt;");
    else if (c == 0x27) writer.ascii("&apos;");
    else if (c == 0x22) writer.ascii("&quot;");
    else writer.byte(c);
  }
}

/** Appends a field's bytes, escaped. */
export function escapedField(writer: Writer, field: usize): void {
  escaped(writer, fieldData(field), fieldLength(field));
}
