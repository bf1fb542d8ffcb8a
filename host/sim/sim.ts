// `nabaztag-vm sim`: many seeds, spread over worker threads (one per core by default), or one seed with its whole
// trace. The last line is the summary: runs, failures by invariant, runs per second.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { describePlan } from "./plan.js";
import { describeFailure, INVARIANTS, runSeed, type SimOptions, type SimResult } from "./run.js";

/** The most seeds one command runs (a million: about an hour on two cores), and the most worker threads. */
export const SIM_SEEDS_MAX = 1_000_000;
export const SIM_WORKERS_MAX = 64;
/** Seeds are the generator's 32-bit state. */
export const SEED_MAX = 0xffff_ffff;

export interface SimCommand extends SimOptions {
  /** The first seed, and how many. */
  first: number;
  count: number;
  workers?: number;
  json?: boolean;
}

export interface SimSummary {
  runs: number;
  failures: number;
  byInvariant: Record<string, number>;
  excused: number;
  runsPerSecond: number;
  failed: SimResult[];
}

/** What a worker sends back: the results of its seeds, failing ones whole, the others as counts. */
interface WorkerReport {
  runs: number;
  excused: number;
  failed: SimResult[];
}

/** Runs seeds [from, from + count) in this thread. */
export function runRange(from: number, count: number, options: SimOptions): WorkerReport {
  const report: WorkerReport = { runs: 0, excused: 0, failed: [] };
  for (let seed = from; seed < from + count; seed++) {
    const result = runSeed(seed, options);
    report.runs++;
    if (result.excused) report.excused++;
    if (!result.ok) report.failed.push(result);
  }
  return report;
}

/** Runs the seeds over worker threads; returns when all are done. */
export async function runSeeds(command: SimCommand): Promise<SimSummary> {
  const started = performance.now();
  const workers = Math.max(1, Math.min(command.workers ?? availableParallelism(), command.count));
  const options: SimOptions = { kinds: command.kinds, profile: command.profile, plant: command.plant, debug: command.debug };
  const share = Math.ceil(command.count / workers);
  const jobs: Promise<WorkerReport>[] = [];
  for (let i = 0; i < workers; i++) {
    const from = command.first + i * share;
    const count = Math.min(share, command.first + command.count - from);
    if (count <= 0) break;
    jobs.push(workers === 1 ? Promise.resolve(runRange(from, count, options)) : inWorker(from, count, options));
  }
  const reports = await Promise.all(jobs);
  const failed = reports.flatMap((report) => report.failed).sort((a, b) => a.seed - b.seed);
  const byInvariant: Record<string, number> = {};
  for (const result of failed) byInvariant[result.failure!.invariant] = (byInvariant[result.failure!.invariant] ?? 0) + 1;
  const runs = reports.reduce((sum, report) => sum + report.runs, 0);
  const seconds = (performance.now() - started) / 1000;
  return { runs, failures: failed.length, byInvariant, excused: reports.reduce((sum, r) => sum + r.excused, 0), runsPerSecond: runs / seconds, failed };
}

function inWorker(from: number, count: number, options: SimOptions): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: { from, count, options } });
    worker.once("message", (report: WorkerReport) => resolve(report));
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`a simulator worker exited with ${code}`));
    });
  });
}

/** The summary line. */
export function summaryLine(summary: SimSummary): string {
  const by = INVARIANTS.filter((name) => summary.byInvariant[name]).map((name) => `${name} ${summary.byInvariant[name]}`).join(", ");
  return `sim: ${summary.runs} runs, ${summary.failures} failures${by ? ` (${by})` : ""}, ${summary.excused} not online as the real platform leaves them, ${summary.runsPerSecond.toFixed(0)} runs/s`;
}

/** The CLI's sim: prints each failure, then the summary; with one seed and trace, the whole run. */
export async function simCommand(command: SimCommand & { trace?: boolean }, out: (line: string) => void): Promise<number> {
  if (command.trace || command.count === 1) {
    const result = runSeed(command.first, { ...command, trace: command.trace });
    if (command.json) out(JSON.stringify({ seed: result.seed, ok: result.ok, failure: result.failure, excused: result.excused, hash: result.hash, plan: result.plan, lines: command.trace ? result.lines : undefined }));
    else {
      out(`seed ${result.seed}: ${describePlan(result.plan)}`);
      if (command.trace) for (const line of result.lines) out(line);
      if (!result.ok) for (const line of describeFailure(result, command)) out(line);
      out(`seed ${result.seed}: ${result.ok ? "ok" : `FAILED (${result.failure!.invariant})`}${result.excused ? ` (${result.excused})` : ""}; ${result.steps} steps, ${(result.virtualMs / 1000).toFixed(1)} s of virtual time; transcript ${result.hash.slice(0, 16)}`);
    }
    return result.ok ? 0 : 1;
  }
  const summary = await runSeeds(command);
  for (const result of summary.failed.slice(0, 20)) {
    if (command.json) out(JSON.stringify({ seed: result.seed, failure: result.failure, replay: describeFailure(result, command)[1]!.trim() }));
    else for (const line of describeFailure(result, command)) out(line);
  }
  if (command.json) out(JSON.stringify({ runs: summary.runs, failures: summary.failures, byInvariant: summary.byInvariant, excused: summary.excused, runsPerSecond: Math.round(summary.runsPerSecond) }));
  else out(summaryLine(summary));
  return summary.failures === 0 ? 0 : 1;
}

