// A bounded byte string in static memory: i32 length, i32 capacity, then the bytes. The rabbit's variable strings
// (domain, JID, nonce, ...) are fields declared in memory-map.ts; setting one that would not fit leaves it unchanged
// and says so.

import { Ascii, asciiData, asciiLength, bytesEqual, bytesEqualAscii } from "./bytes";

export const FIELD_HEADER: i32 = 8;

export function fieldInit(field: usize, capacity: i32): void {
  store<i32>(field, 0);
  store<i32>(field, capacity, 4);
}

// @ts-ignore: decorator
@inline export function fieldData(field: usize): usize {
  return field + FIELD_HEADER;
}

// @ts-ignore: decorator
@inline export function fieldLength(field: usize): i32 {
  return load<i32>(field);
}

export function fieldCapacity(field: usize): i32 {
  return load<i32>(field, 4);
}

export function fieldClear(field: usize): void {
  store<i32>(field, 0);
}

/** Sets the field to [pointer, pointer + length); false (field unchanged) if it does not fit. */
export function fieldSet(field: usize, pointer: usize, length: i32): bool {
  if (length < 0 || length > fieldCapacity(field)) return false;
  memory.copy(fieldData(field), pointer, <usize>length);
  store<i32>(field, length);
  return true;
}

export function fieldSetAscii(field: usize, literal: Ascii): bool {
  return fieldSet(field, asciiData(literal), asciiLength(literal));
}

/** Copies one field into another; false if it does not fit. */
export function fieldCopy(to: usize, from: usize): bool {
  return fieldSet(to, fieldData(from), fieldLength(from));
}

export function fieldEquals(field: usize, pointer: usize, length: i32): bool {
  return bytesEqual(fieldData(field), fieldLength(field), pointer, length);
}

export function fieldEqualsAscii(field: usize, literal: Ascii): bool {
  return bytesEqualAscii(fieldData(field), fieldLength(field), literal);
}

export function fieldEqualsField(a: usize, b: usize): bool {
  return bytesEqual(fieldData(a), fieldLength(a), fieldData(b), fieldLength(b));
}
