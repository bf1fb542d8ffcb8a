// Packs a WebAssembly module's data segments: active segments at constant offsets whose gap is at most
// PACK_GAP_BYTES_MAX become one segment, the gap filled with the zeros memory holds there anyway. The module's memory
// after instantiation is the same byte for byte; only the number of segments changes. wasm2c copies each segment with
// a call of its own at instantiation (about 20 bytes of ARM Thumb code each): the optimizer's segments (split at
// every run of zeros, since in a .wasm file each segment costs only a few bytes) cost a device far more in code than
// the zeros of the gaps cost it in data.
//
// Only modules whose segments are all active at an i32.const offset in memory 0 are packed (asc's); any other module
// is returned unchanged. No recursion, and every loop is bounded by the bytes it reads.
//
//   node scripts/pack-data.mjs FILE.wasm [OUT.wasm]     (prints the segment counts before and after)

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Largest gap of zeros merged into a segment (bytes). */
export const PACK_GAP_BYTES_MAX = 64;
const SECTION_DATA = 11;
const SECTION_DATA_COUNT = 12;
const OP_I32_CONST = 0x41;
const OP_END = 0x0b;

function readUnsigned(bytes, at) {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    const b = bytes[at.offset++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return value;
  }
  throw new Error("pack-data: a LEB128 number longer than 5 bytes");
}

function readSigned(bytes, at) {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    const b = bytes[at.offset++];
    value |= (b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) === 0) return shift < 32 && (b & 0x40) !== 0 ? value | (-1 << shift) : value;
  }
  throw new Error("pack-data: a LEB128 number longer than 5 bytes");
}

function unsigned(value) {
  const out = [];
  for (let i = 0; i < 5; i++) {
    const b = value & 0x7f;
    value = Math.floor(value / 128);
    out.push(value === 0 ? b : b | 0x80);
    if (value === 0) return out;
  }
  throw new Error("pack-data: a number too large for LEB128 u32");
}

function signed(value) {
  const out = [];
  for (let i = 0; i < 5; i++) {
    const b = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (b & 0x40) === 0) || (value === -1 && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
  throw new Error("pack-data: a number too large for LEB128 i32");
}

/** The module's sections: { id, header, start, end } (where the section begins, its payload's start and end). */
function sections(bytes) {
  const list = [];
  const at = { offset: 8 };
  while (at.offset < bytes.length) {
    const header = at.offset;
    const id = bytes[at.offset++];
    const size = readUnsigned(bytes, at);
    list.push({ id, header, start: at.offset, end: at.offset + size });
    at.offset += size;
  }
  return list;
}

/** The data section's segments as { offset, bytes }, or null if one is not active at a constant in memory 0. */
function segments(bytes, section) {
  const at = { offset: section.start };
  const count = readUnsigned(bytes, at);
  const list = [];
  for (let i = 0; i < count; i++) {
    if (readUnsigned(bytes, at) !== 0 || bytes[at.offset++] !== OP_I32_CONST) return null;
    const offset = readSigned(bytes, at) >>> 0;
    if (bytes[at.offset++] !== OP_END) return null;
    const length = readUnsigned(bytes, at);
    list.push({ offset, bytes: bytes.subarray(at.offset, at.offset + length) });
    at.offset += length;
  }
  return list;
}

/** Merges segments whose gap is at most PACK_GAP_BYTES_MAX (overlapping ones: the later wins, as at instantiation). */
function merge(list) {
  const sorted = list.map((s, index) => ({ ...s, index })).sort((a, b) => a.offset - b.offset || a.index - b.index);
  const merged = [];
  for (const segment of sorted) {
    const last = merged.at(-1);
    if (last && segment.offset <= last.offset + last.length + PACK_GAP_BYTES_MAX) {
      last.parts.push(segment);
      last.length = Math.max(last.length, segment.offset + segment.bytes.length - last.offset);
    } else {
      merged.push({ offset: segment.offset, length: segment.bytes.length, parts: [segment] });
    }
  }
  return merged.map(({ offset, length, parts }) => {
    const out = new Uint8Array(length);
    for (const part of parts.sort((a, b) => a.index - b.index)) out.set(part.bytes, part.offset - offset);
    return { offset, bytes: out };
  });
}

function section(id, payload) {
  return [id, ...unsigned(payload.length), ...payload];
}

/** The module with its data segments packed (or unchanged: nothing to pack, or segments this does not handle). */
export function packData(input) {
  const bytes = new Uint8Array(input);
  const list = sections(bytes);
  const data = list.find((s) => s.id === SECTION_DATA);
  if (!data) return bytes;
  const found = segments(bytes, data);
  if (found === null || found.length < 2) return bytes;
  const packed = merge(found);
  const payload = [...unsigned(packed.length)];
  for (const s of packed) payload.push(0, OP_I32_CONST, ...signed(s.offset | 0), OP_END, ...unsigned(s.bytes.length), ...s.bytes);
  const out = [...bytes.subarray(0, 8)];
  for (const s of list) {
    if (s.id === SECTION_DATA) out.push(...section(SECTION_DATA, payload));
    else if (s.id === SECTION_DATA_COUNT) out.push(...section(SECTION_DATA_COUNT, unsigned(packed.length)));
    else out.push(...bytes.subarray(s.header, s.end));
  }
  return Uint8Array.from(out);
}

/** How many data segments a module has (0 without a data section). */
export function dataSegmentCount(input) {
  const bytes = new Uint8Array(input);
  const data = sections(bytes).find((s) => s.id === SECTION_DATA);
  return data ? readUnsigned(bytes, { offset: data.start }) : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, out = file] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node scripts/pack-data.mjs FILE.wasm [OUT.wasm]");
    process.exit(2);
  }
  const before = readFileSync(file);
  const after = packData(before);
  writeFileSync(out, after);
  console.log(`${file}: ${dataSegmentCount(before)} data segments -> ${dataSegmentCount(after)}; ${before.length} -> ${after.length} bytes`);
}
