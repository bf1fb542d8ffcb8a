// Makes a fresh clone runnable with nothing but Node: installs the npm packages if they are missing or stale, builds
// the module and the host if any source is newer than its output, and with --test also makes sure the real XMPP
// servers the integration tests run against are installed (Debian packages, via apt-get).
//
// Used by `npm start`, `npm test` and `npm run bench` (their pre-scripts), and by .ci/run.

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
const wasmSources = Math.max(newestMtime(join(root, "assembly")), mtime(join(root, "asconfig.json")));
const hostSources = Math.max(newestMtime(join(root, "host")), newestMtime(join(root, "test")), mtime(join(root, "tsconfig.json")));
const wasmBuilt = Math.min(...["rabbit.wasm", "rabbit.debug.wasm", "rabbit.sizes.wasm", "core.wasm", "core.sizes.wasm"].map((file) => mtime(join(root, "build", file))));
const hostBuilt = mtime(join(root, "build", "host", "cli.js"));
if (wasmBuilt < wasmSources) run("npm", ["run", "--silent", "build:wasm"]);
if (hostBuilt < hostSources) run("npm", ["run", "--silent", "build:host"]);

// 3. The real servers for the integration tests.
if (forTests) {
  const missing = [];
  if (!existsSync("/usr/sbin/ejabberdctl")) missing.push("ejabberd");
  if (!existsSync("/usr/bin/prosody")) missing.push("prosody");
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
        console.error(`prepare: apt-get ${args.join(" ")} failed; the integration tests need ${missing.join(" and ")}`);
        process.exit(1);
      }
    }
  }
}

