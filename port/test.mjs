// `npm run port:test`: the C host against the Node host, byte for byte (port/README.md, "The checks").
//
//   1. builds the C host (port/build.mjs) for the full module and for the device build: native with gcc -O2, ARMv4T
//      Thumb with arm-linux-gnueabi-gcc;
//   2. makes the inputs with the Node host: the call scripts of the core and rabbit vectors and the Node host's
//      outputs for them (port/calls.mjs, the full module's test points); the seed replay and a reboot replay,
//      recorded (port/record.mjs) on each build;
//   3. runs each natively and under qemu-arm -cpu ti925t (an ARMv4T core, as the rabbit's ARM7TDMI) and compares
//      the outputs with the Node host's;
//   4. checks that the ARM binaries have no instruction newer than ARMv4T, that the device module never asks its
//      memory's size (its memory is an arena: port/arena.c), and prints the sizes.
//
// One line per check, "OK" or "FAIL", then what was measured; exit status 1 if any check failed. Everything it
// writes is in build/port/ (the scripts, the transcripts, the binaries).

import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ARM_CC, ARM_OPT, MODULES, NATIVE_OPT, arenaBytes, buildArm, buildNative, generate, setQuiet } from "./build.mjs";
import { coreScript, rabbitScript, runCallScript } from "./calls.mjs";
import { SEED, recordReplay } from "./record.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const OUT = join(ROOT, "build", "port");
const CPU = "ti925t";

let failed = 0;
const report = (ok, name, detail) => {
  if (!ok) failed++;
  console.log(`${ok ? "OK  " : "FAIL"} ${name}: ${detail}`);
};

const rel = (path) => relative(ROOT, path);
const kb = (bytes) => bytes.toLocaleString("en-US");
const ms = (value) => `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ms`;

function which(command) {
  const result = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function sha256(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Where two outputs first differ, for a FAIL line. */
function firstDifference(got, want) {
  const a = got.split("\n");
  const b = want.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      const cut = (line) => (line === undefined ? "(nothing)" : JSON.stringify(line.length > 160 ? `${line.slice(0, 160)}...` : line));
      return `line ${i + 1}: C ${cut(a[i])}, Node ${cut(b[i])}`;
    }
  }
  return "identical";
}

/** Runs the host (natively, or under qemu) and returns its status, stderr and wall time. */
function runHost(runner, args) {
  const [command, ...prefix] = runner;
  const started = performance.now();
  const result = spawnSync(command, [...prefix, ...args], { encoding: "utf8", env: { ...process.env, PORT_HEAP_PEAK: "1" } });
  const wall = performance.now() - started;
  if (result.error) throw result.error;
  return { status: result.status, stderr: result.stderr, wall };
}

function lineCount(text) {
  return text.split("\n").length - 1;
}

/** Section sizes from `arm-linux-gnueabi-size -A`: text, rodata, data, bss (each the sum of its sections). */
function sizes(file) {
  const result = spawnSync("arm-linux-gnueabi-size", ["-A", file], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`arm-linux-gnueabi-size failed on ${rel(file)}`);
  const total = { text: 0, rodata: 0, data: 0, bss: 0 };
  for (const line of result.stdout.split("\n")) {
    const match = /^(\.\S+)\s+(\d+)/.exec(line);
    if (!match) continue;
    const [, name, size] = match;
    const group = name.startsWith(".text") ? "text" : name.startsWith(".rodata") ? "rodata" : name.startsWith(".data") ? "data" : name.startsWith(".bss") ? "bss" : undefined;
    if (group) total[group] += Number(size);
  }
  return total;
}

const showSizes = (s) => `text ${kb(s.text)}, rodata ${kb(s.rodata)}, data ${kb(s.data)}, bss ${kb(s.bss)} (text+rodata+data ${kb(s.text + s.rodata + s.data)})`;

/** Instructions an ARMv4T core does not have (ARMv5 and later; Thumb-2), as objdump writes them. */
const NEWER_THAN_V4T = /^\s*[0-9a-f]+:\s+(?:[0-9a-f]{4,8}\s+)+(blx|clz|ldrd|strd|pld|bkpt|smul(?:bb|bt|tb|tt|wb|wt)|smla(?:bb|bt|tb|tt|wb|wt|lbb|lbt|ltb|ltt)|qd?add|qd?sub|ldrex\w*|strex\w*|clrex|cps\w*|rev\w*|[su]xt\w*|movw|movt|cbn?z|it\w*|\w+\.w)\b/;

function scanV4T(binary) {
  const dump = spawnSync("arm-linux-gnueabi-objdump", ["-d", binary], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (dump.status !== 0) throw new Error("arm-linux-gnueabi-objdump failed");
  const lines = dump.stdout.split("\n");
  const bad = lines.filter((line) => NEWER_THAN_V4T.test(line));
  const count = lines.filter((line) => /^\s*[0-9a-f]+:\s/.test(line)).length;
  const attributes = spawnSync("arm-linux-gnueabi-readelf", ["-A", binary], { encoding: "utf8" }).stdout;
  const arch = /Tag_CPU_arch: (\S+)/.exec(attributes)?.[1] ?? "?";
  return { bad, count, arch };
}

/** Builds both modules' C hosts; per module { native, arm } (arm: binary, stub, module object), or undefined. */
function buildAll() {
  const started = performance.now();
  const built = {};
  const parts = [];
  for (const module of Object.values(MODULES)) {
    generate(module);
    const t0 = performance.now();
    const native = buildNative(module);
    const t1 = performance.now();
    const arm = buildArm(module);
    const t2 = performance.now();
    built[module.name] = { native, arm };
    const c = statSync(join(module.out, "gen", "rabbit.c")).size;
    const h = statSync(join(module.out, "gen", "rabbit.h")).size;
    parts.push(`${rel(module.wasm)} ${kb(statSync(module.wasm).size)} B -> rabbit.c ${kb(c)} B + rabbit.h ${kb(h)} B, native gcc ${NATIVE_OPT} ${ms(t1 - t0)}, ARM ${ARM_OPT} ${ms(t2 - t1)}`);
  }
  const wabt = spawnSync("wasm2c", ["--version"], { encoding: "utf8" }).stdout.trim();
  return { built, detail: `wasm2c ${wabt}: ${parts.join("; ")} (${ARM_CC} -march=armv4t -mthumb; total ${ms(performance.now() - started)}; steps whose inputs did not change are skipped)` };
}

/** The seed replay of `variant`, recorded in Node: a case for the C host. */
async function seedCase(module, prefix) {
  const seed = await recordReplay(SEED.log, { ...SEED.options, variant: module.name });
  writeFileSync(`${prefix}.replay`, seed.script);
  writeFileSync(`${prefix}.node.txt`, seed.transcript);
  writeFileSync(`${prefix}.node-replay.txt`, `${seed.result.transcript.join("\n")}\n`);
  return {
    name: "seed replay", module, kind: "replay", input: `${prefix}.replay`, base: prefix, expected: seed.transcript,
    detail: `Node replays the log ${seed.result.matched}/${seed.result.expected} on the ${module.name} build${seed.result.ok ? "" : ` (${seed.result.errors[0]})`}; ${seed.inputs} inputs`,
    nodeOk: seed.result.ok,
  };
}

/**
 * A reboot: the seed's first exchange, then the server closes the stream (firmware profile: the rabbit reboots); the
 * log's last line never comes, so the replay runs on into the second boot and stops there.
 */
async function rebootCase(module, prefix) {
  const log = readFileSync(SEED.log, "latin1").split("\n").slice(0, 48).join("\n");
  const rebootLog = join(OUT, "reboot.log");
  writeFileSync(rebootLog, `${log}\n\nRECEIVE:\n\n</stream:stream>\n\n[vm] (the replay stops at this line: it never comes)\n`, "latin1");
  const reboot = await recordReplay(rebootLog, { ...SEED.options, variant: module.name, limitMs: 30000 });
  writeFileSync(`${prefix}.replay`, reboot.script);
  writeFileSync(`${prefix}.node.txt`, reboot.transcript);
  const boots = (reboot.transcript.match(/ instantiate$/gm) ?? []).length;
  return {
    name: "reboot replay", module, kind: "replay", input: `${prefix}.replay`, base: prefix, expected: reboot.transcript,
    detail: `${boots} boots in Node (the server closes the stream, the rabbit reboots)`, nodeOk: boots >= 2,
  };
}

/** The inputs and the Node host's outputs: call scripts (the full module's test points), and the replays. */
async function makeCases() {
  const cases = [];
  for (const [name, script] of [["core vectors", coreScript()], ["rabbit vectors", await rabbitScript()]]) {
    const base = join(OUT, name.split(" ")[0]);
    const expected = await runCallScript(script);
    writeFileSync(`${base}.calls`, script);
    writeFileSync(`${base}.node.out`, expected);
    const expectations = (expected.match(/^expect /gm) ?? []).length;
    const nodeFailures = (expected.match(/^expect FAIL/gm) ?? []).length;
    cases.push({ name, module: MODULES.release, kind: "calls", input: `${base}.calls`, base, expected, detail: `${expectations} expectations (Node: ${expectations - nodeFailures} hold)`, nodeOk: nodeFailures === 0 });
  }
  cases.push(await seedCase(MODULES.release, join(OUT, "seed")), await rebootCase(MODULES.release, join(OUT, "reboot")));
  cases.push(await seedCase(MODULES.device, join(OUT, "device-seed")), await rebootCase(MODULES.device, join(OUT, "device-reboot")));
  return cases;
}

/** Runs every case natively and under qemu; returns the largest heap the hosts reported. */
function runCases(cases, built, qemu) {
  let heapPeak = 0;
  for (const [target, label] of [["native", "native"], ["arm", `arm (${basename(qemu)} -cpu ${CPU})`]]) {
    for (const c of cases) {
      const binary = target === "native" ? built[c.module.name].native : built[c.module.name].arm.binary;
      const runner = target === "native" ? [binary] : [qemu, "-cpu", CPU, binary];
      const name = `${label} ${c.module === MODULES.device ? "device " : ""}${c.name}`;
      const output = `${c.base}.${target}.${c.kind === "calls" ? "out" : "txt"}`;
      let run;
      try {
        run = runHost(runner, [c.kind, c.input, output]);
      } catch (error) {
        report(false, name, error.message);
        continue;
      }
      const peak = /heap peak (\d+)/.exec(run.stderr ?? "");
      if (peak) heapPeak = Math.max(heapPeak, Number(peak[1]));
      const got = existsSync(output) ? readFileSync(output, "latin1") : "";
      const same = got === c.expected;
      const why = [
        same ? `output = Node's (${kb(lineCount(got))} lines, ${rel(output)})` : `output differs from Node's at ${firstDifference(got, c.expected)}`,
        run.status === 0 ? undefined : `exit status ${run.status}: ${(run.stderr ?? "").trim().split("\n").filter((l) => !l.includes("heap peak")).join(" / ")}`,
        c.detail,
        `run ${ms(run.wall)}`,
      ].filter(Boolean);
      report(same && run.status === 0 && c.nodeOk, name, why.join("; "));
    }
  }
  return heapPeak;
}

/** ARMv4T only, the device module's memory never sized at run time, and the sizes. */
function checkArm(built, heapPeak) {
  for (const module of Object.values(MODULES)) {
    const label = module === MODULES.device ? "arm device v4t" : "arm v4t";
    try {
      const scan = scanV4T(built[module.name].arm.binary);
      report(scan.bad.length === 0 && scan.arch === "v4T", label, scan.bad.length === 0
        ? `${kb(scan.count)} instructions in ${rel(built[module.name].arm.binary)}, none newer than ARMv4T (objdump); Tag_CPU_arch ${scan.arch}`
        : `${scan.bad.length} instructions newer than ARMv4T, first: ${scan.bad[0].trim()}`);
    } catch (error) {
      report(false, label, error.message);
    }
  }
  // The device's memory is an arena of exactly arena_end() bytes (port/arena.c): sound only if the module never asks
  // the memory's size (wasm2c writes memory.size and memory.grow as reads of the memory's page count).
  const deviceC = readFileSync(join(MODULES.device.out, "gen", "rabbit.c"), "utf8");
  const sizeReads = (deviceC.match(/w2c_memory\.pages|wasm_rt_grow_memory\(/g) ?? []).length;
  report(sizeReads === 0, "device arena", sizeReads === 0
    ? `the device module never asks its memory's size (no memory.size, no memory.grow in its C): its memory is a ${kb(arenaBytes(MODULES.device))}-byte arena (port/arena.c)`
    : `the device module asks its memory's size ${sizeReads} times: it cannot run on an arena`);
  try {
    const line = (module) => {
      const arm = built[module.name].arm;
      return `${module.name}: module object ${rel(arm.module)}: ${showSizes(sizes(arm.module))}; host ${rel(arm.binary)}: ${showSizes(sizes(arm.binary))}; firmware stub ${rel(arm.stub)}: ${showSizes(sizes(arm.stub))}`;
    };
    report(true, "arm sizes", `${Object.values(MODULES).map(line).join(" | ")}; heap peak under qemu ${kb(heapPeak)} B (the full module's memory is ${kb(4 * 65536)} B of it; the stubs' bss holds their heap, and the device stub's its arena)`);
  } catch (error) {
    report(false, "arm sizes", error.message);
  }
}

async function main() {
  setQuiet(true);
  // 0. Tools.
  const qemu = which("qemu-arm") ?? which("qemu-arm-static");
  const tools = ["wasm2c", "gcc", ARM_CC, "arm-linux-gnueabi-size", "arm-linux-gnueabi-objdump"].filter((tool) => !which(tool));
  if (!qemu) tools.push("qemu-arm (qemu-user or qemu-user-static)");
  for (const module of Object.values(MODULES)) if (!existsSync(module.wasm)) tools.push(`${rel(module.wasm)} (npm run build)`);
  if (tools.length > 0) {
    report(false, "tools", `missing ${tools.join(", ")}; \`node scripts/prepare.mjs --port\` installs them`);
    return;
  }
  const cpus = spawnSync(qemu, ["-cpu", "help"], { encoding: "utf8" }).stdout ?? "";
  if (!new RegExp(`^\\s*${CPU}\\s*$`, "m").test(cpus)) {
    report(false, "tools", `${qemu} offers no ${CPU} (ARMv4T) cpu`);
    return;
  }
  const hashes = Object.values(MODULES).map((module) => sha256(module.wasm));

  // 1. Build.
  let built;
  try {
    const result = buildAll();
    built = result.built;
    report(true, "build", result.detail);
  } catch (error) {
    report(false, "build", error.message);
    return;
  }

  // 2. Inputs and the Node host's outputs.
  let cases;
  try {
    cases = await makeCases();
  } catch (error) {
    report(false, "inputs", `the Node host could not make them: ${error.stack ?? error.message}`);
    return;
  }

  // 3. Native and ARM runs; 4. ARMv4T only, and the sizes.
  checkArm(built, runCases(cases, built, qemu));

  Object.values(MODULES).forEach((module, i) => {
    if (sha256(module.wasm) !== hashes[i]) report(false, rel(module.wasm), "changed while the checks ran (rebuilt meanwhile?): run them again");
  });
}

await main();
process.exit(failed > 0 ? 1 : 0);
