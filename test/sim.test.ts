// The simulator (host/sim): the same seed gives the same run; bugs planted on purpose are found, each by the
// invariant that names it, with a command that replays the failure; seeds that once found real bugs stay fixed; and
// ten thousand seeds of both profiles, every fault on, break no invariant.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { FAULT_KINDS, planFor } from "../host/sim/plan.js";
import { describeFailure, runSeed } from "../host/sim/run.js";
import { runRange, runSeeds } from "../host/sim/sim.js";

const CLI = fileURLToPath(new URL("../host/cli.js", import.meta.url));

test("the same seed gives the same plan and the same run; another seed another", () => {
  assert.deepEqual(planFor(4242), planFor(4242));
  const first = runSeed(4242);
  const again = runSeed(4242);
  assert.equal(first.hash, again.hash);
  assert.equal(first.steps, again.steps);
  assert.equal(first.virtualMs, again.virtualMs);
  assert.notEqual(runSeed(4243).hash, first.hash);
});

test("a run in a worker thread is the same run as in this thread", async () => {
  const here = runRange(100, 8, {});
  const there = await runSeeds({ first: 100, count: 8, workers: 2 });
  assert.equal(there.runs, 8);
  assert.equal(there.failures, here.failed.length);
  assert.equal(there.excused, here.excused);
});

test("a rabbit that never reconnects is found: a silent stall or offline after the faults, and the failure replays", () => {
  const report = runRange(1, 50, { plant: "no-reconnect" });
  assert.ok(report.failed.length > 0, "50 seeds with drops, resets and restarts must catch a rabbit that never reconnects");
  for (const result of report.failed) assert.ok(["no-silent-stall", "online-after-faults"].includes(result.failure!.invariant), result.failure!.invariant);
  const stalled = report.failed.find((result) => result.failure!.invariant === "no-silent-stall");
  assert.ok(stalled, "a closed connection with nothing due is a silent stall");
  const lines = describeFailure(stalled, { plant: "no-reconnect" });
  assert.match(lines[1]!, new RegExp(`replay: nabaztag-vm sim --seed ${stalled.seed} --trace --plant no-reconnect`));
  assert.ok(lines.some((line) => /^ {4}\s*\d+ /.test(line)), "the failure shows the run's last lines");
  const replayed = runSeed(stalled.seed, { plant: "no-reconnect" });
  assert.deepEqual(replayed.failure, stalled.failure);
  assert.equal(replayed.hash, stalled.hash);
  // Without the planted bug, the same seeds pass.
  for (const result of report.failed.slice(0, 5)) assert.equal(runSeed(result.seed).ok, true, `seed ${result.seed} without the bug`);
});

test("a flash written in place is found by a power cut in the middle of it", () => {
  const report = runRange(1, 200, { plant: "flash-in-place", kinds: ["power"] });
  assert.ok(report.failed.length > 0, "200 seeds with power cuts must catch a flash written in place");
  for (const result of report.failed) assert.equal(result.failure!.invariant, "flash-old-or-new");
  assert.equal(runSeed(report.failed[0]!.seed, { kinds: ["power"] }).ok, true, "the same seed with the atomic write");
});

test("seeds that found bugs stay fixed", () => {
  // 10280: the rabbit logged in with a password its registration had not confirmed (now PASSWORD_PENDING).
  // 541, 1660, 1923: a refused registration left the rabbit red with its connection open and nothing due.
  for (const seed of [10280, 541, 1660, 1923]) {
    const result = runSeed(seed, { debug: true });
    assert.equal(result.ok, true, result.ok ? "" : describeFailure(result, { debug: true }).slice(0, 2).join("\n"));
  }
});

test("every fault kind is drawn by some seed, and every setup", () => {
  const kinds = new Set<string>();
  const setups = new Set<string>();
  for (let seed = 1; seed <= 300; seed++) {
    const plan = planFor(seed);
    for (const fault of plan.faults) kinds.add(fault.kind);
    setups.add(`${plan.profile}/${plan.registration}/${plan.dialect}`);
  }
  for (const kind of FAULT_KINDS.filter((k) => !["latency", "split", "partial"].includes(k))) assert.ok(kinds.has(kind), kind);
  assert.ok(setups.size >= 4, [...setups].join(" "));
});

test("ten thousand seeds, both profiles, every fault: no invariant breaks", () => {
  const result = spawnSync(process.execPath, [CLI, "sim", "--seeds", "10000", "--first", "1", "--workers", "2", "--json"], { encoding: "utf8", timeout: 600_000 });
  const lines = result.stdout.trim().split("\n");
  const summary = JSON.parse(lines.at(-1)!) as { runs: number; failures: number; runsPerSecond: number };
  assert.equal(summary.runs, 10_000);
  assert.equal(summary.failures, 0, lines.slice(0, -1).join("\n"));
  assert.equal(result.status, 0);
});
