// The fuzz targets (fuzz/README.md): libFuzzer binaries built with clang's sanitizers from the module's wasm2c C,
// each run here for a bounded number of inputs from a fixed seed (a smoke run: the same inputs every time, so it never
// flakes; long runs are `npm run fuzz`), and the committed seeds and regressions replayed. clang comes from
// `node scripts/prepare.mjs --test` (npm test's pretest): this test never skips.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { ROOT } from "./helpers.js";

const TARGETS = ["tokenizer", "digest-md5", "scram", "packet", "locate"];
/** Inputs per target: about 15 s of fuzzing in all on two cores, 23 s with the build (fuzz/README.md, "Figures"). */
const RUNS = 60_000;
const CORPUS = `${ROOT}build/fuzz/ci/corpus`;
const ARTIFACTS = `${ROOT}build/fuzz/ci/crashes`;

interface FuzzResult {
  target: string;
  execs: number;
  seconds: number;
  coverage: number;
  status: number;
  crashes: string[];
  artifacts: string[];
  messages: string[];
}

/** Runs fuzz/run.mjs; its per-target results, and everything it printed for the failure messages. */
function runFuzz(args: string[]): { results: Map<string, FuzzResult>; report: string; status: number | null } {
  const result = spawnSync(process.execPath, [`${ROOT}fuzz/run.mjs`, "--json", ...args], { cwd: ROOT, encoding: "utf8", timeout: 600_000 });
  const report = `${result.stdout}${result.stderr}${result.error ? String(result.error) : ""}`;
  const results = new Map<string, FuzzResult>();
  for (const line of result.stdout.split("\n")) {
    if (!line.startsWith("fuzz-result ")) continue;
    const parsed = JSON.parse(line.slice("fuzz-result ".length)) as FuzzResult;
    results.set(parsed.target, parsed);
  }
  return { results, report, status: result.status };
}

function assertClean(results: Map<string, FuzzResult>, report: string): void {
  for (const target of TARGETS) {
    const r = results.get(target);
    assert.ok(r, `no result for ${target}\n${report}`);
    assert.equal(r.status, 0, `${target}: libFuzzer exited ${r.status}\n${report}`);
    assert.deepEqual(r.crashes, [], `${target}: crashed\n${report}`);
    assert.deepEqual(r.artifacts, [], `${target}: left crash files\n${report}`);
  }
}

test(`each fuzz target runs ${RUNS.toLocaleString("en-US")} inputs from a fixed seed: no trap, no sanitizer report, every invariant holds`, () => {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  const { results, report, status } = runFuzz(["--runs", String(RUNS), "--seed", "1", "--parallel", "2", "--fresh", "--corpus", CORPUS, "--artifacts", ARTIFACTS]);
  assertClean(results, report);
  for (const target of TARGETS) {
    const r = results.get(target)!;
    assert.ok(r.execs >= RUNS, `${target}: ${r.execs} inputs run\n${report}`);
    assert.ok(r.coverage > 100, `${target}: coverage ${r.coverage} edges: did the setup reach the parser?\n${report}`);
  }
  assert.equal(status, 0, report);
});

test("the committed seed corpus and regression inputs replay clean", () => {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  const { results, report, status } = runFuzz(["--replay", "--artifacts", ARTIFACTS]);
  assertClean(results, report);
  for (const target of TARGETS) assert.ok(results.get(target)!.execs >= 4, `${target}: ${results.get(target)!.execs} inputs replayed\n${report}`);
  assert.equal(status, 0, report);
});
