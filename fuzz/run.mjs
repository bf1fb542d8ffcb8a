// `npm run fuzz`: builds the fuzz targets (fuzz/build.mjs) and runs libFuzzer on each, then prints what it did:
// executions, executions per second, coverage, time, and any crash with the path of its reproducer
// (fuzz/README.md, "Running").
//
//   node fuzz/run.mjs [--target NAME]... [--runs N | --time SECONDS] [options] [-LIBFUZZER_FLAG=VALUE]...
//
//   --target NAME    a target (tokenizer, digest-md5, scram, packet, locate); repeat or comma-separate; default all
//   --runs N         stop each target after N executions
//   --time SECONDS   stop each target after this long (default 60 when neither is given)
//   --parallel N     run N targets at once (default 1)
//   --seed N         libFuzzer's random seed (default: its own choice; the test fixes it)
//   --corpus DIR     where each target's working corpus lives, DIR/TARGET (default build/fuzz/corpus): it grows
//                    from run to run; the committed seeds (fuzz/corpus/TARGET) are read, never written
//   --artifacts DIR  where crashes go, DIR/TARGET (default build/fuzz/crashes)
//   --replay         no fuzzing: run every committed seed and regression input once, each target
//   --fresh          empty the working corpus first
//   --verbose        show libFuzzer's own output as it comes
//   --json           also print one line "fuzz-result {...}" per target (for test/fuzz.test.ts)
//   -FLAG=VALUE      passed to libFuzzer as it is (e.g. -max_len=1024, -jobs=2)
//
// Exit status: 0 if no target crashed, 1 if one did (or libFuzzer failed), 2 on bad usage or a failed build.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TARGETS, buildFuzz, setQuiet } from "./build.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const FUZZ = join(ROOT, "fuzz");

function usage(message) {
  console.error(`fuzz: ${message}\nusage: node fuzz/run.mjs [--target NAME]... [--runs N | --time SECONDS] [--parallel N] [--seed N] [--corpus DIR] [--artifacts DIR] [--replay] [--fresh] [--verbose] [--json] [-FLAG=VALUE]...`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { targets: [], runs: undefined, time: undefined, parallel: 1, seed: undefined, corpus: join(ROOT, "build", "fuzz", "corpus"), artifacts: join(ROOT, "build", "fuzz", "crashes"), replay: false, fresh: false, verbose: false, json: false, extra: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next;
    };
    const count = (text) => {
      if (!/^\d+$/.test(text)) usage(`${arg} needs a whole number, not '${text}'`);
      return Number(text);
    };
    if (arg === "--target") options.targets.push(...value().split(",").filter(Boolean));
    else if (arg === "--runs") options.runs = count(value());
    else if (arg === "--time") options.time = count(value());
    else if (arg === "--parallel") options.parallel = Math.max(1, count(value()));
    else if (arg === "--seed") options.seed = count(value());
    else if (arg === "--corpus") options.corpus = resolve(value());
    else if (arg === "--artifacts") options.artifacts = resolve(value());
    else if (arg === "--replay") options.replay = true;
    else if (arg === "--fresh") options.fresh = true;
    else if (arg === "--verbose") options.verbose = true;
    else if (arg === "--json") options.json = true;
    else if (/^-[a-z_]+=/.test(arg)) options.extra.push(arg);
    else usage(`unknown argument '${arg}'`);
  }
  if (options.runs === undefined && options.time === undefined) options.time = 60;
  if (options.targets.length === 0) options.targets = Object.keys(TARGETS);
  for (const target of options.targets) if (!TARGETS[target]) usage(`no target '${target}' (${Object.keys(TARGETS).join(", ")})`);
  return options;
}

const files = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith(".")).map((f) => join(dir, f)) : []);
const number = (n) => Math.round(n).toLocaleString("en-US");
const rel = (path) => relative(process.cwd(), path) || ".";

/** Runs libFuzzer for one target; resolves to what it reported. */
function fuzzTarget(target, binary, options) {
  const workCorpus = join(options.corpus, target);
  const artifacts = join(options.artifacts, target);
  if (options.fresh) rmSync(workCorpus, { recursive: true, force: true });
  mkdirSync(workCorpus, { recursive: true });
  mkdirSync(artifacts, { recursive: true });
  const dict = join(FUZZ, "dict", `${target}.dict`);
  const args = ["-print_final_stats=1", "-timeout=10", `-artifact_prefix=${artifacts}/`];
  if (existsSync(dict)) args.push(`-dict=${dict}`);
  if (options.seed !== undefined) args.push(`-seed=${options.seed}`);
  if (options.replay) {
    // Each committed input once: the seeds, then the regressions (fuzz/regressions/TARGET).
    args.push(...files(join(FUZZ, "corpus", target)), ...files(join(FUZZ, "regressions", target)));
  } else {
    args.push(options.runs !== undefined ? `-runs=${options.runs}` : `-max_total_time=${options.time}`);
    args.push(...options.extra, workCorpus, join(FUZZ, "corpus", target));
  }
  const result = { target, execs: 0, seconds: 0, execsPerSecond: 0, libfuzzerExecsPerSecond: 0, coverage: 0, features: 0, edges: 0, corpus: 0, newUnits: 0, peakRssMb: 0, status: 0, crashes: [], messages: [] };
  const started = process.hrtime.bigint();
  return new Promise((done) => {
    const child = spawn(binary, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let pending = "";
    const line = (text) => {
      if (options.verbose) process.stderr.write(`[${target}] ${text}\n`);
      let m;
      if ((m = /^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/.exec(text))) {
        result.execs = Number(m[1]);
        result.coverage = Number(m[2]);
        result.features = Number(m[3]);
        result.corpus = Number(m[4]);
      } else if ((m = /Loaded \d+ PC tables \((\d+) PCs\)/.exec(text))) result.edges = Number(m[1]);
      else if ((m = /^stat::number_of_executed_units: (\d+)/.exec(text))) result.execs = options.replay ? result.execs : Number(m[1]);
      else if ((m = /^stat::average_exec_per_sec: +(\d+)/.exec(text))) result.libfuzzerExecsPerSecond = Number(m[1]);
      else if ((m = /^stat::new_units_added: +(\d+)/.exec(text))) result.newUnits = Number(m[1]);
      else if ((m = /^stat::peak_rss_mb: +(\d+)/.exec(text))) result.peakRssMb = Number(m[1]);
      else if ((m = /Test unit written to (\S+)/.exec(text))) result.crashes.push(m[1]);
      else if (/^Executed \S+ in \d+ ms/.test(text)) result.execs++;
      else if (/^fuzz: |^SUMMARY: |ERROR: libFuzzer|ERROR: AddressSanitizer|runtime error:/.test(text)) {
        result.messages.push(text);
      }
    };
    child.stderr.on("data", (data) => {
      pending += data.toString("latin1");
      const lines = pending.split("\n");
      pending = lines.pop();
      lines.forEach(line);
    });
    child.on("close", (status, signal) => {
      if (pending) line(pending);
      result.status = status ?? (signal ? 128 : 1);
      result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
      result.execsPerSecond = result.seconds > 0 ? result.execs / result.seconds : 0;
      // libFuzzer writes crashes (and timeouts, leaks, OOMs) into the artifact directory; count what is there.
      result.artifacts = files(artifacts).filter((f) => /\/(crash|timeout|leak|oom|slow-unit)-/.test(f));
      done(result);
    });
  });
}

function report(r, options) {
  const verdict = r.crashes.length || r.status !== 0 ? "FAILED" : "ok";
  if (options.replay) console.log(`${r.target}: ${number(r.execs)} committed inputs replayed in ${r.seconds.toFixed(1)} s, exit ${r.status}: ${verdict}`);
  else console.log(`${r.target}: ${number(r.execs)} execs in ${r.seconds.toFixed(1)} s (${number(r.execsPerSecond)} execs/s), cov ${number(r.coverage)} of ${number(r.edges)} edges, ${number(r.features)} features, corpus ${number(r.corpus)}, peak ${r.peakRssMb} MB, exit ${r.status}: ${verdict}`);
  for (const message of r.messages.slice(0, 12)) console.log(`  ${message}`);
  for (const crash of r.crashes) {
    console.log(`  crash: ${rel(crash)}`);
    console.log(`    reproduce: ${rel(join(ROOT, "build", "fuzz", "bin", `fuzz-${r.target}`))} ${rel(crash)}   (FUZZ_VERBOSE=1: what the target saw; FUZZ_UART=1: the rabbit's log)`);
    console.log(`    minimize:  ${rel(join(ROOT, "build", "fuzz", "bin", `fuzz-${r.target}`))} -minimize_crash=1 -runs=100000 -exact_artifact_path=${rel(crash)}.min ${rel(crash)}`);
  }
  if (options.json) console.log(`fuzz-result ${JSON.stringify(r)}`);
}

const options = parseArgs(process.argv.slice(2));
let binaries;
try {
  setQuiet(true);
  binaries = await buildFuzz(options.targets);
} catch (error) {
  console.error(error.message);
  process.exit(2);
}

const queue = [...options.targets];
let failed = false;
const worker = async () => {
  for (let target = queue.shift(); target; target = queue.shift()) {
    const r = await fuzzTarget(target, binaries[target], options);
    if (r.crashes.length || r.status !== 0) failed = true;
    report(r, options);
  }
};
await Promise.all(Array.from({ length: Math.min(options.parallel, queue.length) }, worker));
process.exit(failed ? 1 : 0);
