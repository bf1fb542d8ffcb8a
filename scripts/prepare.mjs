// Makes a fresh clone runnable with nothing but Node: installs the npm packages if they are missing or stale, builds
// the module and the host if any source is newer than its output, and with --test also makes sure the real XMPP
// servers the integration tests run against and the browser of the web page's test (Chromium) are installed (Debian
// packages, via apt-get), with --test or --port the port kit's C toolchain (port/README.md), and with --test or --fuzz
// the fuzz targets' clang (fuzz/README.md).
//
// Used by `npm start`, `npm test`, `npm run bench`, `npm run port:test` and `npm run fuzz` (their pre-scripts), and by
// .ci/run.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const forTests = process.argv.includes("--test");

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`prepare: '${command} ${args.join(" ")}' failed`);
    process.exit(result.status ?? 1);
  }
}

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

// 1. npm packages: installed exactly as locked, when missing or older than the lock file.
const lock = join(root, "package-lock.json");
const installed = join(root, "node_modules", ".package-lock.json");
if (!existsSync(installed) || mtime(installed) < mtime(lock)) {
  console.error("prepare: installing npm packages (npm ci)");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}

// 2. Build when a source is newer than what was built from it.
const wasmSources = Math.max(newestMtime(join(root, "assembly")), ...["asconfig.json", "scripts/build-wasm.mjs", "scripts/ascii-literals.mjs", "scripts/pack-data.mjs"].map((file) => mtime(join(root, file))));
const hostSources = Math.max(newestMtime(join(root, "host")), newestMtime(join(root, "test")), mtime(join(root, "tsconfig.json")));
const wasmBuilt = Math.min(...["rabbit.wasm", "rabbit.debug.wasm", "rabbit.sizes.wasm", "rabbit.device.wasm", "rabbit.device.sizes.wasm", "core.wasm", "core.sizes.wasm", "abi.wasm", "abi.device.wasm"].map((file) => mtime(join(root, "build", file))));
const hostBuilt = mtime(join(root, "build", "host", "cli.js"));
if (wasmBuilt < wasmSources) run("npm", ["run", "--silent", "build:wasm"]);
if (hostBuilt < hostSources) run("npm", ["run", "--silent", "build:host"]);

// 3. Debian packages: the real servers for the integration tests (--test), and the port kit's C toolchain (--test,
// --port; port/README.md): wasm2c, gcc, the ARMv4T cross compiler with its binutils and libc headers, qemu-arm; and
// the fuzz targets' (--test, --fuzz; fuzz/README.md): wasm2c, clang and its libFuzzer and sanitizer runtimes.
const forPort = forTests || process.argv.includes("--port");
const forFuzz = forTests || process.argv.includes("--fuzz");
if (forTests || forPort || forFuzz) {
  const missing = [];
  if (forTests && !existsSync("/usr/sbin/ejabberdctl")) missing.push("ejabberd");
  if (forTests && !existsSync("/usr/bin/prosody")) missing.push("prosody");
  // The web page's browser test drives Debian's Chromium (playwright-core never downloads a browser here).
  if (forTests && !existsSync("/usr/bin/chromium")) missing.push("chromium");
  if (forPort) {
    const portPackages = [
      ["/usr/bin/wasm2c", "wabt"],
      ["/usr/bin/gcc", "gcc"],
      ["/usr/include/stdio.h", "libc6-dev"],
      ["/usr/bin/arm-linux-gnueabi-gcc", "gcc-arm-linux-gnueabi"],
      ["/usr/bin/arm-linux-gnueabi-size", "binutils-arm-linux-gnueabi"],
      ["/usr/arm-linux-gnueabi/include/stdio.h", "libc6-dev-armel-cross"],
    ];
    for (const [file, name] of portPackages) if (!existsSync(file)) missing.push(name);
    if (!existsSync("/usr/bin/qemu-arm") && !existsSync("/usr/bin/qemu-arm-static")) missing.push("qemu-user-static");
  }
  if (forFuzz) {
    if (!existsSync("/usr/bin/wasm2c") && !missing.includes("wabt")) missing.push("wabt");
    if (!existsSync("/usr/bin/clang")) missing.push("clang");
    // compiler-rt (libFuzzer, ASan, UBSan) is only recommended by clang, and apt-get here skips recommendations.
    const runtime = spawnSync("clang", ["--print-runtime-dir"], { encoding: "utf8" });
    const dir = runtime.status === 0 ? runtime.stdout.trim() : "";
    if (!dir || !existsSync(dir) || !readdirSync(dir).some((f) => f.startsWith("libclang_rt.fuzzer-"))) missing.push("libclang-rt-14-dev");
  }
  if (missing.length > 0) {
    const sudo = process.getuid && process.getuid() !== 0 ? ["sudo"] : [];
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    console.error(`prepare: installing ${missing.join(", ")} from Debian (apt-get)`);
    for (const args of [["update"], ["install", "-y", "--no-install-recommends", ...missing]]) {
      // sudo drops the environment: the variable goes on its command line.
      const command = sudo.length ? "sudo" : "apt-get";
      const full = sudo.length ? ["DEBIAN_FRONTEND=noninteractive", "apt-get", ...args] : args;
      const result = spawnSync(command, full, { stdio: "inherit", env });
      if (result.status !== 0) {
        console.error(`prepare: apt-get ${args.join(" ")} failed; the tests need ${missing.join(", ")}`);
        process.exit(1);
      }
    }
  }
}

