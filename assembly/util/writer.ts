// A bounded output buffer. Writes past the capacity are dropped and remembered in `overflowed`; nothing is ever written
// beyond the buffer. The state lives in static memory (see `staticWriter`), so writers cost no allocation.

import { BASE64_NO_ROOM, base64Encode } from "../codec/base64";
import { WRITER_STATE_SIZE } from "../memory-map";
import { hexDigit } from "./bytes";

@unmanaged
export class Writer {
  base: usize;
  capacity: i32;
  length: i32;
  overflowed: bool;

  reset(): void {
    this.length = 0;
    this.overflowed = false;
  }

  room(): i32 {
    return this.capacity - this.length;
  }

  byte(b: i32): void {
    if (this.length >= this.capacity) {
      this.overflowed = true;
      return;
    }
    store<u8>(this.base + this.length, b);
    this.length++;
  }

  bytes(pointer: usize, count: i32): void {
    if (count > this.capacity - this.length) {
      this.overflowed = true;
      count = this.capacity - this.length;
    }
    memory.copy(this.base + this.length, pointer, <usize>count);
    this.length += count;
  }

  /** Appends the ASCII characters of a literal. */
  ascii(literal: string): void {
    const chars = changetype<usize>(literal);
    const count = literal.length;
    for (let i = 0; i < count; i++) this.byte(<i32>load<u16>(chars + (<usize>i << 1)));
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
  writer.reset();
  return writer;
}

assert(offsetof<Writer>() <= <usize>WRITER_STATE_SIZE);
