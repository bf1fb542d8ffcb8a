// `npm run size`: what each build of the module weighs (docs/ABI.md, "Builds").
//
// Per build (core, release, debug, device): the .wasm's bytes; its fixed memory (the bytes its memory map uses, up to
// arena_end(), rounded up to 16; a WebAssembly host gives it whole 64 KiB pages); and for the builds the port kit
// makes for ARMv4T Thumb (release, device: port/build.mjs) the firmware's footprint, from port/host_stub.c linked with
// the module, wasm2c's runtime and port/arm/rt.c (stub.elf): flash = text + rodata + data, RAM = data + bss (the
// module's memory is in the bss: the device's arena, port/arena.c, or the full module's pages in the stub's heap).
// For the device build it also says where the flash bytes are: code per source file, start-up, data, the runtime.
//
//   node scripts/size.mjs            a table, the acceptance figures and the device's breakdown
//   node scripts/size.mjs --json     one JSON object per build and line:
//                                    {"build", "wasm_bytes", "arm_flash_bytes", "arm_ram_bytes", "fixed_memory_bytes"}
//                                    (the ARM figures are null for a build without an ARM build, or without the tools)

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { DEVICE_NAMED, MODULES, buildArm, generate, setQuiet } from "../port/build.mjs";

export { setQuiet };

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..");

/** The builds, in table order: file, and the port kit's module for the ARM ones. */
export const SIZE_BUILDS = [
  { build: "core", wasm: "build/core.wasm", port: null },
  { build: "release", wasm: "build/rabbit.wasm", port: MODULES.release },
  { build: "debug", wasm: "build/rabbit.debug.wasm", port: null },
  { build: "device", wasm: "build/rabbit.device.wasm", port: MODULES.device },
];

/** The original firmware (rev 18673): its whole bytecode, and the share of it that is the XMPP logic. */
export const ORIGINAL_BYTECODE_BYTES = 102_391;
export const ORIGINAL_XMPP_BYTES = 29 * 1024;
/** The device's acceptance (issue 15): ARM Thumb flash and RAM, out of the rabbit's 128 KB of internal flash; the RAM
 * bound leaves the 16 KB internal RAM for the VM and puts the rest in SDRAM (about 1 MB). */
export const DEVICE_FLASH_BYTES_MAX = 48 * 1024;
export const DEVICE_RAM_BYTES_MAX = 32 * 1024;

const SECTION_EXPORT = 7;
const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const SECTION_CUSTOM = 0;

/** The sections of a .wasm: [{ id, start, end }] (payloads), bounded by the file's length. */
function wasmSections(bytes) {
  const list = [];
  const at = { offset: 8 };
  while (at.offset < bytes.length) {
    const id = bytes[at.offset++];
    const size = leb(bytes, at);
    list.push({ id, start: at.offset, end: at.offset + size });
    at.offset += size;
  }
  return list;
}

function leb(bytes, at) {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const b = bytes[at.offset++];
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return value;
  }
  throw new Error("size: a LEB128 number longer than 5 bytes");
}

function name(bytes, at) {
  const length = leb(bytes, at);
  const text = Buffer.from(bytes.subarray(at.offset, at.offset + length)).toString("utf8");
  at.offset += length;
  return text;
}

/** The module's declared memory, in pages (initial). */
function memoryPages(bytes) {
  const section = wasmSections(bytes).find((s) => s.id === SECTION_MEMORY);
  if (!section) return 0;
  const at = { offset: section.start };
  leb(bytes, at); // count
  leb(bytes, at); // flags
  return leb(bytes, at);
}

/** arena_end() of a build: the end of its memory map. */
function arenaEnd(bytes) {
  const module = new WebAssembly.Module(bytes);
  const stub = () => () => 0;
  const instance = new WebAssembly.Instance(module, { vm: new Proxy({}, { get: stub }), env: { abort: stub() } });
  return instance.exports.arena_end();
}

/** Section sizes of an ELF file (arm-linux-gnueabi-size -A): text, rodata, data, bss. */
function elfSizes(file) {
  const result = spawnSync("arm-linux-gnueabi-size", ["-A", file], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`arm-linux-gnueabi-size failed on ${file}`);
  const total = { text: 0, rodata: 0, data: 0, bss: 0 };
  for (const line of result.stdout.split("\n")) {
    const match = /^\.(text|rodata|data|bss)\S*\s+(\d+)/.exec(line);
    if (match) total[match[1]] += Number(match[2]);
  }
  return total;
}

export function hasArmTools() {
  return ["wasm2c", "arm-linux-gnueabi-gcc", "arm-linux-gnueabi-size"].every((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0);
}

/** One build's figures. ARM ones are null without an ARM build or the tools. */
export function measure(entry, arm) {
  const bytes = readFileSync(join(ROOT, entry.wasm));
  const row = {
    build: entry.build,
    wasm_bytes: bytes.length,
    arm_flash_bytes: null,
    arm_ram_bytes: null,
    fixed_memory_bytes: (arenaEnd(bytes) + 15) & ~15,
  };
  const extra = { pages: memoryPages(bytes), stub: null };
  if (entry.port && arm) {
    generate(entry.port);
    const stub = buildArm(entry.port).stub;
    const s = elfSizes(stub);
    row.arm_flash_bytes = s.text + s.rodata + s.data;
    row.arm_ram_bytes = s.data + s.bss;
    extra.stub = { file: stub, sizes: s };
  }
  return { row, extra };
}

// ---------------------------------------------------------------------------------------------------------------------
// Where the device's flash bytes are: the named device build's stub, by its link map.

/** Function names by index, and exports by function index, from a module with a name section. */
function functionNames(bytes) {
  const sections = wasmSections(bytes);
  let imported = 0;
  const names = new Map();
  const exports = new Map();
  for (const section of sections) {
    const at = { offset: section.start };
    if (section.id === SECTION_IMPORT) {
      const count = leb(bytes, at);
      for (let i = 0; i < count; i++) {
        name(bytes, at);
        name(bytes, at);
        const kind = bytes[at.offset++];
        if (kind === 0) imported++;
        if (kind !== 0) throw new Error("size: only function imports are expected");
        leb(bytes, at);
      }
    } else if (section.id === SECTION_EXPORT) {
      const count = leb(bytes, at);
      for (let i = 0; i < count; i++) {
        const exported = name(bytes, at);
        const kind = bytes[at.offset++];
        const index = leb(bytes, at);
        if (kind === 0) exports.set(exported, index);
      }
    } else if (section.id === SECTION_CUSTOM && name(bytes, at) === "name") {
      while (at.offset < section.end) {
        const sub = bytes[at.offset++];
        const size = leb(bytes, at);
        const end = at.offset + size;
        if (sub === 1) {
          const count = leb(bytes, at);
          for (let i = 0; i < count; i++) names.set(leb(bytes, at), name(bytes, at));
        }
        at.offset = end;
      }
    }
  }
  return { names, exports, imported };
}

/** The source file a function's name says ("assembly/xmpp/client/step" → "xmpp/client.ts"), or a group. */
function sourceOf(functionName) {
  const match = /^(?:start:)?assembly\/(.+?)(?:\/[^/]+)?$/.exec(functionName);
  if (!match) return "AssemblyScript's library (memory.copy, memory.compare)";
  const path = functionName.startsWith("start:") ? match[1] : /^assembly\/(.+)\/[^/]+$/.exec(functionName)?.[1];
  return `${path}.ts`;
}

/**
 * Input sections of a GNU ld map: [{ section, size, object }] (the ones with a size and an object file), of what was
 * linked: the map's list of discarded sections (--gc-sections) comes first and is skipped.
 */
function mapSections(map) {
  const linked = map.indexOf("Linker script and memory map");
  if (linked < 0) throw new Error("size: the link map has no \"Linker script and memory map\" part");
  const text = map.slice(linked);
  const list = [];
  const pattern = /^ (\.\S+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+\.o)$/gm;
  for (const match of text.replace(/^ (\.\S+)\n\s+0x/gm, " $1 0x").matchAll(pattern)) {
    list.push({ section: match[1], size: parseInt(match[2], 16), object: match[3] });
  }
  return list;
}

/** Which part of the footprint an input section is: a source file, start-up, data, or a runtime object. */
function classify(entry, wasmName) {
  const object = entry.object.split("/").pop().replace(/\.o$/, "").replace(/^arena-\d+$/, "arena");
  const kind = entry.section.split(".")[1];
  if (object !== "rabbit") return `${object}.c (${kind})`.replace("thumb1.c", "thumb1.S");
  // gcc's clones of a function (.constprop.0, .part.0, .isra.0) count for the function.
  const symbol = entry.section.replace(/^\.(text|rodata|data|bss)\.?/, "").replace(/\.(constprop|part|isra|cold)(\.\d+)?$/g, "");
  // The data segments: in .rodata, or, where gcc took a small one for a C string, merged with the others (.str1.1).
  if (kind === "rodata" && (symbol === "" || /^data_segment_data|\.str1\.\d+$/.test(symbol))) return "data: the module's static data (strings, tables)";
  if (/^elem_segment_exprs/.test(symbol)) return "data: the function table's entries";
  if (kind !== "text") return `data: ${symbol || kind}`;
  if (/^(Z_rabbit_instantiate|Z_rabbit_init_module|Z_rabbit_free|init_|w2c_start)/.test(symbol)) return "start-up: instantiate (data segment copies, table, the start function)";
  if (/^(i32|i64)_(load|store)|^memory_(copy|fill)/.test(symbol)) return "wasm2c's memory helpers (bounds-checked loads and stores, copy, fill)";
  if (/^Z_rabbitZ_(IO_|memory)/.test(symbol)) return "wasm2c's export glue (globals, memory)";
  const file = wasmName(symbol);
  return file ? `code: ${file}` : `code: ${symbol}`;
}

/** The device's flash, by where it comes from (bytes, biggest first), from the named build's stub and link map. */
export function deviceBreakdown() {
  generate(DEVICE_NAMED);
  const stub = buildArm(DEVICE_NAMED).stub;
  const map = readFileSync(stub.replace(/stub\.elf$/, "stub.map"), "utf8");
  const bytes = readFileSync(DEVICE_NAMED.wasm);
  const { names, exports, imported } = functionNames(bytes);
  // wasm2c's C names: w2c_<name with every other character as '_'> for a function, Z_rabbitZ_<export> for an export.
  const bySymbol = new Map();
  for (const [index, functionName] of names) if (index >= imported) bySymbol.set(`w2c_${functionName.replace(/[^A-Za-z0-9_]/g, "_")}`, sourceOf(functionName));
  for (const [exported, index] of exports) bySymbol.set(`Z_rabbitZ_${exported}`, sourceOf(names.get(index) ?? "?"));
  const totals = new Map();
  for (const entry of mapSections(map)) {
    if (!/^\.(text|rodata|data)/.test(entry.section) || entry.size === 0) continue;
    const key = classify(entry, (symbol) => bySymbol.get(symbol));
    totals.set(key, (totals.get(key) ?? 0) + entry.size);
  }
  return { stub, sizes: elfSizes(stub), parts: [...totals].sort((a, b) => b[1] - a[1]) };
}

// ---------------------------------------------------------------------------------------------------------------------

const kb = (n) => (n === null ? "—" : n.toLocaleString("en-US"));

function printTable(results) {
  const rows = [["build", "wasm B", "memory", "fixed memory B", "ARM flash B", "ARM RAM B"]];
  for (const { row, extra } of results) {
    rows.push([row.build, kb(row.wasm_bytes), `${extra.pages} × 64 KiB`, kb(row.fixed_memory_bytes), kb(row.arm_flash_bytes), kb(row.arm_ram_bytes)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
  console.log("ARM: port/host_stub.c with the module, wasm2c's runtime and port/arm/rt.c, -Os -march=armv4t -mthumb (stub.elf):");
  console.log("flash = text + rodata + data; RAM = data + bss (the module's memory is in it: the device's arena, the full");
  console.log("module's pages in the stub's heap). Fixed memory: the bytes of the memory map (arena_end()).");
}

function printAcceptance(device) {
  const { row } = device;
  if (row.arm_flash_bytes === null) return;
  const verdict = (value, limit) => (value <= limit ? "met" : `NOT met (${kb(value - limit)} B over)`);
  console.log();
  console.log(`device: ARM flash ${kb(row.arm_flash_bytes)} B (at most ${kb(DEVICE_FLASH_BYTES_MAX)}: ${verdict(row.arm_flash_bytes, DEVICE_FLASH_BYTES_MAX)}), ` +
    `RAM ${kb(row.arm_ram_bytes)} B (at most ${kb(DEVICE_RAM_BYTES_MAX)}: ${verdict(row.arm_ram_bytes, DEVICE_RAM_BYTES_MAX)})`);
  console.log(`        against the original rev 18673 bytecode: ${kb(ORIGINAL_BYTECODE_BYTES)} B in all, about ${kb(ORIGINAL_XMPP_BYTES)} B of it XMPP ` +
    `(flash ${row.arm_flash_bytes <= ORIGINAL_XMPP_BYTES ? "below" : "above"} it by ${kb(Math.abs(ORIGINAL_XMPP_BYTES - row.arm_flash_bytes))} B)`);
}

function printBreakdown() {
  const { stub, sizes, parts } = deviceBreakdown();
  console.log();
  console.log(`device flash by origin (${relative(ROOT, stub)}, the named device build: the same code; text ${kb(sizes.text)}, rodata ${kb(sizes.rodata)}, data ${kb(sizes.data)}):`);
  console.log("(a function the optimizers inlined counts for the one it went into: an export for the code it calls once)");
  for (const [part, size] of parts) console.log(`  ${kb(size).padStart(7)}  ${part}`);
  const listed = parts.reduce((sum, [, size]) => sum + size, 0);
  const flash = sizes.text + sizes.rodata + sizes.data;
  console.log(`  ${kb(listed).padStart(7)}  in all, of the stub's ${kb(flash)} B of flash (the rest: alignment between sections)`);
}

async function main() {
  const json = process.argv.includes("--json");
  setQuiet(true);
  const arm = hasArmTools();
  const results = [];
  for (const entry of SIZE_BUILDS) {
    if (!existsSync(join(ROOT, entry.wasm))) throw new Error(`${entry.wasm} is missing (npm run build)`);
    results.push(measure(entry, arm));
  }
  if (json) {
    for (const { row } of results) console.log(JSON.stringify(row));
    return;
  }
  printTable(results);
  if (!arm) console.log("(no ARM figures: wasm2c and the arm-linux-gnueabi tools are missing; node scripts/prepare.mjs --port installs them)");
  printAcceptance(results.find((r) => r.row.build === "device"));
  if (arm) printBreakdown();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (error) {
    console.error(`size: ${error.message}`);
    process.exit(1);
  }
}
