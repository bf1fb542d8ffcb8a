// Builds the C host from build/rabbit.wasm and from build/rabbit.device.wasm (port/README.md, "Building"): for each,
// wasm2c's C into gen/ of its directory (build/port/ and build/port/device/: MODULES below), then
//   native/rabbit-port   the POSIX host, with the system's gcc (-O2; -Wall -Wextra -Werror on port/*.c)
//   arm/rabbit-port      the same host for ARMv4T Thumb (arm-linux-gnueabi-gcc -march=armv4t -mthumb, static, no
//                        libc: port/arm/ supplies what the module and the host need), for qemu-arm -cpu ti925t
//   arm/stub.elf         port/host_stub.c linked the same way: a firmware's footprint
// Each step runs only when an input is newer than its output; every command is printed (--quiet: not).
//
//   node port/build.mjs [--quiet] [native] [arm]      (neither: both)

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const PORT = join(ROOT, "port");

/**
 * The modules the port kit builds, each into a directory of its own: gen/ (wasm2c's C, the export table), native/,
 * arm/. `release` is the full module; `device` the firmware profile alone (assembly/device.ts), built for the rabbit:
 * its memory is a static arena of exactly the bytes the module uses (port/arena.c, PORT_ARENA_BYTES: its arena_end()
 * rounded up to 16) instead of whole 64 KiB pages, and without wasm2c's call-depth counter (the module has no
 * recursion: its call depth is bounded by its call graph).
 */
export const MODULES = {
  release: { name: "release", wasm: join(ROOT, "build", "rabbit.wasm"), out: join(ROOT, "build", "port"), arena: false, defines: [] },
  device: {
    name: "device",
    wasm: join(ROOT, "build", "rabbit.device.wasm"),
    out: join(ROOT, "build", "port", "device"),
    arena: true,
    defines: ["-DWASM_RT_USE_STACK_DEPTH_COUNT=0", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0"],
  },
};

/**
 * The device build with its functions' names (rabbit.device.sizes.wasm: the same code, and a name section), built the
 * device's way: scripts/size.mjs reads its link map to say which source file each byte of flash comes from. Not part
 * of the port kit's checks.
 */
export const DEVICE_NAMED = {
  ...MODULES.device,
  name: "device-named",
  wasm: join(ROOT, "build", "rabbit.device.sizes.wasm"),
  out: join(ROOT, "build", "port", "device-named"),
};

/** Where Debian's wabt puts wasm2c's runtime (wasm-rt-impl.c; wasm-rt.h may be in /usr/include). */
const RUNTIME_DIRS = ["/usr/share/wabt/wasm2c", "/usr/src/wasm2c", "/usr/local/share/wabt/wasm2c", "/usr/include"];

export const NATIVE_CC = process.env.CC ?? "gcc";
export const ARM_CC = "arm-linux-gnueabi-gcc";
/** -O2 for the host on Linux; -Os for the ARM build (a device's flash is small). */
export const NATIVE_OPT = "-O2";
export const ARM_OPT = process.env.PORT_ARM_OPT ?? "-Os";
export const ARM_FLAGS = ["-march=armv4t", "-mthumb", "-mfloat-abi=soft", "-fno-pic", "-fno-unwind-tables", "-fno-asynchronous-unwind-tables", "-ffunction-sections", "-fdata-sections"];
const STRICT = ["-Wall", "-Wextra", "-Werror", "-std=c11", "-D_DEFAULT_SOURCE"];

let quiet = false;

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

function show(command, args) {
  if (!quiet) console.log(`  ${[command, ...args].map((a) => (a.startsWith(ROOT) ? relative(ROOT, a) || "." : a)).join(" ")}`);
}

function run(command, args) {
  show(command, args);
  const result = spawnSync(command, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  if (result.error) throw new Error(`port build: cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`port build: '${command}' failed (status ${result.status})`);
}

/** Runs `make` when `output` is missing or older than any of `inputs`. */
function step(output, inputs, make) {
  const newest = Math.max(...inputs.map(mtime));
  if (existsSync(output) && mtime(output) >= newest) return;
  mkdirSync(dirname(output), { recursive: true });
  make();
}

/** The directory holding `file` among wasm2c's runtime locations. */
export function runtimeDir(file) {
  for (const dir of RUNTIME_DIRS) if (existsSync(join(dir, file))) return dir;
  const listed = spawnSync("dpkg", ["-L", "wabt"], { encoding: "utf8" });
  const hit = listed.stdout?.split("\n").find((line) => line.endsWith(`/${file}`));
  if (hit) return dirname(hit);
  throw new Error(`port build: wasm2c's ${file} not found (install Debian's wabt: apt-get install wabt)`);
}

/**
 * gen/port_module.h: what this module has that a host must know at compile time (port/port.h includes it):
 * PORT_ENV_ABORT (it imports env.abort: debug builds only), PORT_IO_OUT (it exports IO_OUT: the full module).
 */
function generateModuleHeader(header) {
  const text = readFileSync(header, "utf8");
  const has = (pattern) => (pattern.test(text) ? 1 : 0);
  return [
    "/* Generated by port/build.mjs from rabbit.h (wasm2c): what this module has (port/port.h). */",
    `#define PORT_ENV_ABORT ${has(/\bZ_envZ_abort\b/)}`,
    `#define PORT_IO_OUT ${has(/\bZ_rabbitZ_IO_OUT\b/)}`,
    "",
  ].join("\n");
}

/** gen/exports.c: every export of rabbit.h whose parameters are all u32, callable by name (port/port.h). */
function generateExports(header) {
  const text = readFileSync(header, "utf8");
  const pattern = /\/\* export: '([^']+)' \*\/\n(void|u32) (Z_rabbitZ_\w+)\(Z_rabbit_instance_t\*((?:, u32)*)\);/g;
  const wrappers = [];
  const entries = [];
  for (const match of text.matchAll(pattern)) {
    const [, name, result, symbol, params] = match;
    const count = params ? params.split(",").length - 1 : 0;
    const args = Array.from({ length: count }, (_, i) => `, args[${i}]`).join("");
    const id = `call_${entries.length}`;
    const body = result === "void" ? `${symbol}(module${args});\n  return 0;` : `return ${symbol}(module${args});`;
    wrappers.push(`static uint32_t ${id}(Z_rabbit_instance_t* module, const uint32_t* args) {\n  (void)args;\n  ${body}\n}\n`);
    entries.push(`  {"${name}", ${count}, ${result === "void" ? 0 : 1}, ${id}},`);
  }
  if (entries.length === 0) throw new Error("port build: no exports found in rabbit.h (has wasm2c's output format changed?)");
  return [
    "/* Generated by port/build.mjs from rabbit.h (wasm2c): every export whose parameters are all i32, by name. */",
    '#include "port.h"',
    "",
    ...wrappers,
    "const port_export port_exports[] = {",
    ...entries,
    "  {0, 0, 0, 0},",
    "};",
    "",
  ].join("\n");
}

/** The module's arena_end() (the end of its memory map), rounded up to 16: the device arena's size. */
export function arenaBytes(module) {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(module.wasm)), { vm: new Proxy({}, { get: () => () => 0 }) });
  return (instance.exports.arena_end() + 15) & ~15;
}

const gen = (module) => join(module.out, "gen");

/** wasm2c's C for the module, its export table and its header of features. */
export function generate(module = MODULES.release) {
  const c = join(gen(module), "rabbit.c");
  const header = join(gen(module), "rabbit.h");
  step(c, [module.wasm], () => run("wasm2c", [module.wasm, "-n", "rabbit", "-o", c]));
  for (const [file, make] of [["exports.c", generateExports], ["port_module.h", generateModuleHeader]]) {
    const path = join(gen(module), file);
    step(path, [header, fileURLToPath(import.meta.url)], () => {
      show("generate", [path]);
      writeFileSync(path, make(header));
    });
  }
}

function objects(module, cc, dir, opt, extra) {
  const implDir = runtimeDir("wasm-rt-impl.c");
  const headerDir = runtimeDir("wasm-rt.h");
  const includes = ["-I", gen(module), "-I", PORT, "-I", implDir, "-I", headerDir];
  const inputs = [join(PORT, "port.h"), join(PORT, "trap.h"), join(gen(module), "rabbit.h"), join(gen(module), "port_module.h"), fileURLToPath(import.meta.url)];
  const compile = (source, object, flags) => step(object, [source, ...inputs], () => run(cc, [opt, ...extra, ...module.defines, ...flags, ...includes, "-c", source, "-o", object]));
  const o = (name) => join(dir, name);
  // Generated and wabt's own C: not ours to fix, compiled without warnings.
  compile(join(gen(module), "rabbit.c"), o("rabbit.o"), ["-w", "-DNDEBUG"]);
  compile(join(implDir, "wasm-rt-impl.c"), o("wasm-rt-impl.o"), ["-w", "-DNDEBUG", "-DWASM_RT_TRAP_HANDLER=port_trap", "-include", join(PORT, "trap.h")]);
  compile(join(gen(module), "exports.c"), o("exports.o"), STRICT);
  compile(join(PORT, "host_posix.c"), o("host_posix.o"), STRICT);
  compile(join(PORT, "host_stub.c"), o("host_stub.o"), [...STRICT, ...(module.arena ? ["-DPORT_HEAP_BYTES=1536"] : [])]);
  // The device's arena, its size in the object's name: a module whose memory map changed gets a new one.
  if (module.arena) {
    const size = arenaBytes(module);
    compile(join(PORT, "arena.c"), o(`arena-${size}.o`), [...STRICT, `-DPORT_ARENA_BYTES=${size}`]);
    return { o, compile, arena: o(`arena-${size}.o`) };
  }
  return { o, compile, arena: undefined };
}

/** The device's memory is port/arena.c's array, put in place of wasm2c's allocation by the linker's --wrap. */
function arenaLink(arena) {
  if (!arena) return { parts: [], flags: [] };
  return { parts: [arena], flags: ["-Wl,--wrap=wasm_rt_allocate_memory", "-Wl,--wrap=wasm_rt_free_memory"] };
}

export function buildNative(module = MODULES.release) {
  const dir = join(module.out, "native");
  const { o, arena } = objects(module, NATIVE_CC, dir, NATIVE_OPT, []);
  const binary = o("rabbit-port");
  const link = arenaLink(arena);
  const parts = [...["rabbit.o", "wasm-rt-impl.o", "exports.o", "host_posix.o"].map(o), ...link.parts];
  step(binary, parts, () => run(NATIVE_CC, [NATIVE_OPT, ...link.flags, ...parts, "-o", binary, "-lm"]));
  return binary;
}

export function buildArm(module = MODULES.release) {
  const dir = join(module.out, "arm");
  const { o, compile, arena } = objects(module, ARM_CC, dir, ARM_OPT, ARM_FLAGS);
  // The runtime a bare target supplies (no libc, no libgcc: Debian's are ARMv5TE code).
  const freestanding = ["-ffreestanding", "-fno-builtin", "-fno-tree-loop-distribute-patterns", "-fno-strict-aliasing", ...STRICT];
  compile(join(PORT, "arm", "rt.c"), o("rt.o"), freestanding);
  compile(join(PORT, "arm", "thumb1.S"), o("thumb1.o"), []);
  compile(join(PORT, "arm", "linux.c"), o("linux.o"), freestanding);
  compile(join(PORT, "arm", "start.S"), o("start.o"), []);
  const wrap = arenaLink(arena);
  const link = ["-nostdlib", "-static", "-no-pie", "-Wl,--gc-sections", "-Wl,--no-warn-rwx-segments", ...wrap.flags];
  const common = [...["rabbit.o", "wasm-rt-impl.o", "rt.o", "thumb1.o"].map(o), ...wrap.parts];
  const binary = o("rabbit-port");
  const hostParts = [...common, ...["exports.o", "host_posix.o", "linux.o", "start.o"].map(o)];
  step(binary, hostParts, () => run(ARM_CC, [ARM_OPT, ...ARM_FLAGS, ...link, ...hostParts, "-o", binary]));
  const stub = o("stub.elf");
  const stubParts = [...common, o("host_stub.o")];
  // Its link map (stub.map) says which object and which function each byte came from (scripts/size.mjs reads it).
  step(stub, stubParts, () => run(ARM_CC, [ARM_OPT, ...ARM_FLAGS, ...link, "-Wl,-e,rabbit_firmware_main", `-Wl,-Map,${o("stub.map")}`, ...stubParts, "-o", stub]));
  return { binary, stub, module: o("rabbit.o") };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  quiet = args.includes("--quiet");
  const targets = args.filter((a) => !a.startsWith("--"));
  try {
    for (const module of Object.values(MODULES)) {
      if (!existsSync(module.wasm)) throw new Error(`port build: ${relative(ROOT, module.wasm)} is missing (npm run build)`);
      generate(module);
      if (targets.length === 0 || targets.includes("native")) console.log(`${module.name} native: ${relative(ROOT, buildNative(module))}`);
      if (targets.length === 0 || targets.includes("arm")) {
        const arm = buildArm(module);
        console.log(`${module.name} arm: ${relative(ROOT, arm.binary)}, ${relative(ROOT, arm.stub)}`);
      }
    }
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}

export function setQuiet(value) {
  quiet = value;
}
