// The debug UART (spec §2, §12): the rabbit's log, one line at a time. A line is assembled in UART_LINE and handed to
// the host as raw bytes ending in "\n", as the firmware wrote them; the host adds the "[vm] " prefix of the captures.
// A line longer than UART_LINE goes out in pieces as it is written (the last one ending in "\n"): never cut.

import { UART_LINE, UART_LINE_CAPACITY, UART_WRITER } from "../memory-map";
import { Ascii } from "../util/bytes";
import { streamingWriter, Writer } from "../util/writer";
import { uart_write } from "./host";

/** Starts a line; append to the returned writer, then call uartEnd. */
export function uartBegin(): Writer {
  // One byte is kept back for the "\n".
  return streamingWriter(UART_WRITER, UART_LINE, UART_LINE_CAPACITY - 1);
}

/** Ends the line and sends it (its last piece). */
export function uartEnd(): void {
  const line = changetype<Writer>(UART_WRITER);
  store<u8>(line.base + line.length, 0x0a);
  uart_write(line.base, line.length + 1);
}

/** Logs one line made of a literal. */
export function uartLine(text: Ascii): void {
  uartBegin().ascii(text);
  uartEnd();
}
