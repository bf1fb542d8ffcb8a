// A bounded output buffer. Writes past the capacity are dropped and remembered in `overflowed`; nothing is ever written
// beyond the buffer. The state lives in static memory (see `staticWriter`), so writers cost no allocation. One writer
// streams instead (the UART's, vm/uart.ts): when its buffer is full it hands it to the UART and goes on from its start.

import { BASE64_NO_ROOM, base64Encode } from "../codec/base64";
import { WRITER_STATE_SIZE } from "../memory-map";
import { uart_write } from "../vm/host";
import { Ascii, asciiData, asciiLength, hexDigit } from "./bytes";

@unmanaged
export class Writer {
  base: usize;
  capacity: i32;
  length: i32;
  overflowed: bool;
  /** A full buffer goes to uart_write and the writer goes on (never overflows); set by streamingWriter. */
  streaming: bool;

  reset(): void {
    this.length = 0;
    this.overflowed = false;
  }

  /** A streaming writer's full buffer is written to the UART: true; a bounded writer is full: false. */
  private drain(): bool {
    if (!this.streaming) return false;
    uart_write(this.base, this.length);
    this.length = 0;
    return true;
  }

  room(): i32 {
    return this.capacity - this.length;
  }

  byte(b: i32): void {
    if (this.length >= this.capacity && !this.drain()) {
      this.overflowed = true;
      return;
    }
    store<u8>(this.base + this.length, b);
    this.length++;
  }

  bytes(pointer: usize, count: i32): void {
    // Streaming: fill the buffer and drain it while the bytes do not fit (each pass takes at least one byte).
    while (this.streaming && count > this.capacity - this.length && this.capacity > 0) {
      const take = this.capacity - this.length;
      memory.copy(this.base + this.length, pointer, <usize>take);
      this.length += take;
      pointer += <usize>take;
      count -= take;
      this.drain();
    }
    if (count > this.capacity - this.length) {
      this.overflowed = true;
      count = this.capacity - this.length;
    }
    memory.copy(this.base + this.length, pointer, <usize>count);
    this.length += count;
  }

  /** Appends the bytes of a literal. */
  ascii(literal: Ascii): void {
    this.bytes(asciiData(literal), asciiLength(literal));
  }

  /** Appends `count` copies of a byte. */
  repeat(b: i32, count: i32): void {
    for (let i = 0; i < count; i++) this.byte(b);
  }

  /** Appends an unsigned decimal number. */
  decimal(value: u32): void {
    let divisor: u32 = 1;
    while (value / divisor >= 10) divisor *= 10;
    while (divisor > 0) {
      this.byte(0x30 + <i32>((value / divisor) % 10));
      divisor /= 10;
    }
  }

  /** Appends bytes in base64 (RFC 4648; with `firmwarePadding` the firmware's, one '=' short). All or nothing. */
  base64(pointer: usize, count: i32, firmwarePadding: bool = false): void {
    const written = base64Encode(pointer, count, this.base + <usize>this.length, this.room(), firmwarePadding);
    if (written == BASE64_NO_ROOM) {
      this.overflowed = true;
      return;
    }
    this.length += written;
  }

  /** Appends bytes as lowercase hex digits. */
  hex(pointer: usize, count: i32): void {
    for (let i = 0; i < count; i++) {
      const b = <i32>load<u8>(pointer + i);
      this.byte(hexDigit(b >> 4));
      this.byte(hexDigit(b & 15));
    }
  }
}

/** A writer whose state is placed in static memory, over the buffer [base, base + capacity). */
export function staticWriter(state: usize, base: usize, capacity: i32): Writer {
  const writer = changetype<Writer>(state);
  writer.base = base;
  writer.capacity = capacity;
  writer.streaming = false;
  writer.reset();
  return writer;
}

/** As staticWriter, but the writer streams to the UART (uart_write) whenever its buffer is full. */
export function streamingWriter(state: usize, base: usize, capacity: i32): Writer {
  const writer = staticWriter(state, base, capacity);
  writer.streaming = true;
  return writer;
}

assert(offsetof<Writer>() <= <usize>WRITER_STATE_SIZE);
