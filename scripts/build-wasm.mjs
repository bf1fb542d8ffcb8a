// Builds the WebAssembly modules (`npm run build:wasm`): each asconfig.json target from its entry file, in one process
// (asc's API, one target after another), every one through scripts/ascii-literals.mjs (string literals as bytes: an
// asc transform, given here because asconfig.json cannot name a transform by a relative path). Then each emitted
// module's data segments are packed (scripts/pack-data.mjs): a device copies each segment at instantiation, so few is
// better than many.
//
//   node scripts/build-wasm.mjs [TARGET ...]      (none: all, in this order)

import { main } from "assemblyscript/asc";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packData } from "./pack-data.mjs";

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const TRANSFORM = "./scripts/ascii-literals.mjs";

/** Target → entry file. `arena-check` only compiles (runtime none: anything that would allocate fails to compile). */
export const TARGETS = {
  "arena-check": "assembly/index.ts",
  "device-arena-check": "assembly/device.ts",
  debug: "assembly/index.ts",
  release: "assembly/index.ts",
  sizes: "assembly/index.ts",
  device: "assembly/device.ts",
  "device-sizes": "assembly/device.ts",
  core: "assembly/core.ts",
  "core-sizes": "assembly/core.ts",
  abi: "assembly/abi.ts",
  "abi-device": "assembly/abi.ts",
};

async function build(target) {
  const config = JSON.parse(readFileSync(join(ROOT, "asconfig.json"), "utf8")).targets[target];
  if (!config) throw new Error(`asconfig.json has no target ${target}`);
  const { error, stderr } = await main([TARGETS[target], "--target", target, "--transform", TRANSFORM], {});
  const messages = stderr.toString().replace(/Last converge was suboptimal\.\n/g, "");
  if (messages.trim()) process.stderr.write(messages);
  if (error) throw new Error(`asc --target ${target}: ${error.message}`);
  // Every emitted module but the debug one (whose source map points into its code: packing keeps the code, but the
  // debug build is for debuggers, not devices) gets packed segments.
  if (config.outFile && !config.sourceMap) {
    const path = join(ROOT, config.outFile);
    writeFileSync(path, packData(readFileSync(path)));
  }
}

const requested = process.argv.slice(2);
for (const name of requested) if (!(name in TARGETS)) throw new Error(`unknown target ${name} (${Object.keys(TARGETS).join(", ")})`);
for (const target of requested.length > 0 ? requested : Object.keys(TARGETS)) {
  try {
    await build(target);
  } catch (error) {
    console.error(`build-wasm: ${error.message}`);
    process.exit(1);
  }
}
