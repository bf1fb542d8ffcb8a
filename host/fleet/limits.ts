// What a fleet may use of the machine, checked before it starts: file descriptors (one socket per rabbit in the
// fleet, one per rabbit in the lab) and memory. Linux says both in /proc; elsewhere the checks are skipped and the
// run-time guards remain (a worker's memory budget, EMFILE counted as a failure reason).

import { readdirSync, readFileSync } from "node:fs";

/** Rabbits one fleet process (one shard) runs at most. */
export const FLEET_RABBITS_MAX = 200_000;
export const FLEET_WORKERS_MAX = 64;
/** What a rabbit costs in a worker, for the check before the start (measured: see the README's fleet section). */
export const FLEET_RSS_PER_RABBIT_ESTIMATE_BYTES = 160 * 1024;
/** And in the lab (its connection, its parser, its account). */
export const LAB_RSS_PER_RABBIT_ESTIMATE_BYTES = 48 * 1024;
/** A Node process with the compiled module, before any rabbit. */
export const PROCESS_RSS_BASE_BYTES = 96 * 1024 * 1024;
/** The fleet leaves this share of the machine's available memory to everything else. */
export const MEMORY_RESERVE_FRACTION = 0.1;

export interface FdLimits {
  soft: number;
  hard: number;
}

/** This process's open-file limits, from /proc/self/limits (undefined off Linux). */
export function fdLimits(): FdLimits | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const [soft, hard] = (line ?? "").replace("Max open files", "").trim().split(/\s+/);
    const value = (text: string | undefined) => (text === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(text));
    if (!Number.isFinite(value(soft)) || !Number.isFinite(value(hard))) return undefined;
    return { soft: value(soft), hard: value(hard) };
  } catch {
    return undefined;
  }
}

/** Linux's CAP_SYS_RESOURCE: the right to raise a hard limit. */
const CAP_SYS_RESOURCE = 24n;

/** Whether this process may raise its hard limits (root usually may; not in a container without the capability). */
export function canRaiseHardLimits(): boolean {
  try {
    const line = readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith("CapEff:"));
    return line !== undefined && ((BigInt(`0x${line.slice(7).trim()}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** File descriptors this process may still open (undefined off Linux). */
export function availableFdBudget(): number | undefined {
  const limits = fdLimits();
  if (!limits) return undefined;
  let open = 0;
  try {
    open = readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
  return limits.soft - open;
}

/**
 * The command that runs `argv` with its open-file limit raised to `needed` where the OS allows (root: soft and
 * hard; others: the soft limit up to the hard one). The process then checks what it got.
 */
export function withFdLimit(needed: number, argv: string[]): { command: string; args: string[] } {
  if (process.platform !== "linux" && process.platform !== "darwin") return { command: argv[0]!, args: argv.slice(1) };
  const script = `ulimit -n ${needed} 2>/dev/null || ulimit -S -n "$(ulimit -H -n)" 2>/dev/null; exec "$@"`;
  return { command: "/bin/sh", args: ["-c", script, "sh", ...argv] };
}

/** Whether the machine can hold `rabbits` in `workers` processes and the lab; a sentence saying why not. */
export function memoryProblem(rabbits: number, workers: number, withLab: boolean, availableBytes: number): string | undefined {
  const fleet = rabbits * FLEET_RSS_PER_RABBIT_ESTIMATE_BYTES + workers * PROCESS_RSS_BASE_BYTES;
  const lab = withLab ? rabbits * LAB_RSS_PER_RABBIT_ESTIMATE_BYTES + PROCESS_RSS_BASE_BYTES : 0;
  const usable = availableBytes * (1 - MEMORY_RESERVE_FRACTION);
  if (fleet + lab <= usable) return undefined;
  const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;
  return `${rabbits} rabbits need about ${mib(fleet + lab)} (${mib(FLEET_RSS_PER_RABBIT_ESTIMATE_BYTES)} per rabbit in the fleet${withLab ? ", some in the lab" : ""}) and ${mib(usable)} is available: run fewer, or shards on several machines (--shard)`;
}
