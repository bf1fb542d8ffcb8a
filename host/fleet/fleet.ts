// `nabaztag-vm fleet`: many rabbits against one platform, spread over worker processes (each its own address space
// and core; V8's per-instance address-space reservation caps one process near 12,000 rabbits), with the embedded lab
// in a process of its own unless --platform names another. The parent only counts: a progress line, a timeline, and
// at the end the report (report.ts) and its chart (chart.ts).

import { spawn, type ChildProcess } from "node:child_process";
import { freemem } from "node:os";
import { fileURLToPath } from "node:url";
import type { Variant } from "../core.js";
import type { Profile } from "../quirks.js";
import { defaultVariant, type RegistrationForm, type SaslMechanism } from "../rabbit.js";
import { flashUrl } from "../run.js";
import { canRaiseHardLimits, fdLimits, FLEET_WORKERS_MAX, memoryProblem, withFdLimit } from "./limits.js";
import { FLEET_HTTP_IN_FLIGHT_MAX } from "./rabbits.js";
import type { LabCommand, LabStats, WorkerConfig, WorkerMessage, WorkerProgress, WorkerRange } from "./protocol.js";
import { buildReport, describeReport, Timeline, TIMELINE_STEP_MS, type FleetReport, type WorkerTotals } from "./report.js";

/** Without --duration, the fleet stops when every rabbit is online, or after this long. */
export const FLEET_TIMEOUT_MS_DEFAULT = 600_000;
/** How long a child may take to start, and to hand in its totals after stop. */
const CHILD_START_MS_MAX = 60_000;
const CHILD_STOP_MS_MAX = 30_000;
/** File descriptors a process needs besides its sockets. */
const FDS_SPARE = 256;

export interface FleetOptions {
  count: number;
  /** The platform URL; undefined: the fleet's own lab. */
  platform?: string;
  profile: Profile;
  registration?: RegistrationForm;
  /** A SASL mechanism every rabbit uses (the fleet's own lab then offers it first). */
  sasl?: SaslMechanism;
  /** The module every rabbit runs; undefined: the rabbit's default (defaultVariant). */
  build?: Variant;
  /** Rabbits that registered long ago: their flash holds a password the platform knows (fleetPassword). */
  registered?: boolean;
  /** Rabbits started per second (all workers together); null: all at once. */
  rampPerSecond: number | null;
  /** Run this long; undefined: until all are online (at most timeoutMs). */
  durationMs?: number;
  timeoutMs: number;
  macBase: bigint;
  /** This process's shard: rabbits macBase + index × count onward. */
  shard: { index: number; count: number };
  flashDir?: string;
  workers: number;
}

export interface FleetProgress {
  seconds: number;
  started: number;
  online: number;
  retrying: number;
  loginsPerSecond: number;
  /** Rabbits per status (FleetRabbits' names). */
  statuses: Record<string, number>;
}

export interface FleetEvents {
  progress(line: FleetProgress): void;
  problem(message: string): void;
}

class Child {
  private waiters: ((message: unknown) => boolean)[] = [];
  exited = false;

  constructor(readonly process: ChildProcess, readonly name: string, onMessage: (message: unknown) => void) {
    process.on("message", (message) => {
      onMessage(message);
      this.waiters = this.waiters.filter((waiter) => !waiter(message));
    });
    process.on("exit", () => {
      this.exited = true;
    });
  }

  /** The first message of `type`, within `ms`; rejects if the child exits or says it is fatal first. */
  waitFor<T>(type: string, ms: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not answer within ${ms / 1000} s`)), ms);
      const onExit = (code: number | null) => reject(new Error(`${this.name} exited (${code ?? "signal"}) before it was ready`));
      this.process.once("exit", onExit);
      this.waiters.push((message) => {
        const m = message as { type: string; message?: string };
        if (m.type !== type && m.type !== "fatal") return false;
        clearTimeout(timer);
        this.process.off("exit", onExit);
        if (m.type === "fatal") reject(new Error(m.message));
        else resolve(message as T);
        return true;
      });
    });
  }

  send(message: object): void {
    if (!this.exited && this.process.connected) this.process.send(message);
  }

  kill(): void {
    if (!this.exited) this.process.kill("SIGKILL");
  }
}

/** NODE_FLEET_CPU_PROF=DIR: each process writes a V8 CPU profile there (how the fleet's costs were found). */
function profiling(name: string): string[] {
  const directory = process.env.NODE_FLEET_CPU_PROF;
  return directory ? ["--cpu-prof", `--cpu-prof-dir=${directory}`, `--cpu-prof-name=${name.replace(/\W+/g, "-")}.cpuprofile`] : [];
}

/**
 * The young generation's semi-space, per process. Measured with 10,000 firmware rabbits (2 workers, one run each): 64
 * MiB: 75.9 KiB RSS per rabbit, 1.35 ms CPU per login; 32: 64.3 KiB, 1.27 ms; 16: 59.5 KiB, 1.30 ms; 8: 53.2 KiB,
 * 1.31 ms. A bigger one buys no CPU and costs up to 3 × its size in RSS once a burst of logins has grown it.
 */
const SEMI_SPACE_MIB = 8;

function fork(script: string, fds: number, name: string, heapMiB: number, onMessage: (message: unknown) => void): Child {
  const path = fileURLToPath(new URL(script, import.meta.url));
  // No 10 GiB guard region per WebAssembly instance (bounds are checked instead); a small young generation.
  const argv = [process.execPath, "--disable-wasm-trap-handler", `--max-old-space-size=${heapMiB}`, `--max-semi-space-size=${SEMI_SPACE_MIB}`, ...profiling(name), path];
  const { command, args } = withFdLimit(fds, argv);
  const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
  return new Child(child, name, onMessage);
}

/** How the fleet spreads over processes: workers, and lab processes (each serving the workers i with i % labs). */
export interface FleetLayout {
  workers: number;
  labs: number;
}

/**
 * Enough processes that each stays within the open-file limit (a socket per rabbit on both sides): more workers than
 * asked for when the default would not fit, and as many lab processes as the lab's sockets need. A sentence when the
 * machine cannot hold the fleet (too few descriptors for the workers asked for, too little memory).
 */
export function fleetLayout(options: FleetOptions, workersExplicit: boolean, limits = fdLimits(), canRaise = canRaiseHardLimits()): FleetLayout | string {
  // Raising a hard limit needs CAP_SYS_RESOURCE; anyone raises the soft one up to it.
  const hard = limits && !canRaise ? limits.hard : Number.POSITIVE_INFINITY;
  const perProcess = hard - FDS_SPARE - FLEET_HTTP_IN_FLIGHT_MAX;
  if (perProcess < 1) return `the open-file limit (${hard}) leaves no room for rabbits: raise it (ulimit -Hn)`;
  let workers = options.workers;
  const perWorker = Math.ceil(options.count / workers) + FDS_SPARE + FLEET_HTTP_IN_FLIGHT_MAX;
  if (perWorker > hard) {
    if (workersExplicit) return `each worker needs ${perWorker} file descriptors and the hard limit is ${hard} (ulimit -Hn): use more workers (--workers) or raise the limit`;
    workers = Math.ceil(options.count / perProcess);
    if (workers > FLEET_WORKERS_MAX) return `${options.count} rabbits need ${workers} worker processes under the open-file limit of ${hard}: raise it (ulimit -Hn) or run shards`;
  }
  const labCapacity = hard - FDS_SPARE - FLEET_HTTP_IN_FLIGHT_MAX * workers;
  const labs = options.platform ? 0 : Math.min(workers, Math.ceil(options.count / Math.max(1, labCapacity)));
  if (labs > 0 && Math.ceil(workers / labs) * Math.ceil(options.count / workers) > labCapacity) {
    return `the lab's processes cannot hold ${options.count} rabbits under the open-file limit of ${hard}: raise it (ulimit -Hn), use more workers, or run the platform elsewhere (--platform)`;
  }
  return memoryProblem(options.count, workers, labs > 0, freemem()) ?? { workers, labs };
}

/** Starts a lab process for `rabbits` rabbits; resolves with its URL and XMPP ports. */
async function startLab(index: number, options: FleetOptions, served: WorkerRange[], children: Child[]): Promise<LabProcess> {
  const rabbits = served.reduce((total, range) => total + range.count, 0);
  const lab = fork("./lab-process.js", rabbits + FDS_SPARE + FLEET_HTTP_IN_FLIGHT_MAX * served.length, `lab ${index}`, 4096, () => undefined);
  children.push(lab);
  const command: LabCommand = {
    type: "start", rabbits, workers: served.length, sasl: options.sasl,
    registered: options.registered ? { macBase: macBaseHex(options), ranges: served } : undefined,
  };
  lab.send(command);
  const ready = await lab.waitFor<{ platformUrl: string; xmppPorts: number[] }>("ready", CHILD_START_MS_MAX);
  return { child: lab, url: ready.platformUrl, xmppPorts: ready.xmppPorts };
}

interface LabProcess {
  child: Child;
  url: string;
  xmppPorts: number[];
}

interface Tally {
  progress: WorkerProgress[];
  totals: (WorkerTotals | undefined)[];
  fatal: string | undefined;
}

function macBaseHex(options: FleetOptions): string {
  return options.macBase.toString(16).padStart(12, "0");
}

/** Each worker's rabbits: global indexes [first, first + count). */
function workerRanges(options: FleetOptions, layout: FleetLayout): WorkerRange[] {
  const share = Math.ceil(options.count / layout.workers);
  const ranges: WorkerRange[] = [];
  for (let i = 0; i < layout.workers && i * share < options.count; i++) {
    ranges.push({ first: options.shard.index * options.count + i * share, count: Math.min(share, options.count - i * share) });
  }
  return ranges;
}

/** The platform each worker's rabbits use: the --platform, or its lab process's. */
type Platforms = (worker: number) => { url: string; xmppPorts?: number[] };

function startWorkers(options: FleetOptions, ranges: WorkerRange[], platforms: Platforms, children: Child[], tally: Tally, events: FleetEvents): Child[] {
  const memoryBytesMax = Math.floor((freemem() * 0.9) / ranges.length);
  const workers: Child[] = [];
  for (const [i, { first, count }] of ranges.entries()) {
    const worker = fork("./worker.js", count + FDS_SPARE, `worker ${i}`, Math.max(512, Math.floor(memoryBytesMax / 1048576)), (message) => {
      const m = message as WorkerMessage;
      if (m.type === "progress") tally.progress[i] = m;
      else if (m.type === "totals") tally.totals[i] = m.totals;
      else if (m.type === "problem") events.problem(m.message);
      else if (m.type === "fatal") tally.fatal ??= m.message;
    });
    children.push(worker);
    const config: WorkerConfig = {
      index: i, first, count, macBase: macBaseHex(options), profile: options.profile, registration: options.registration, sasl: options.sasl, build: options.build ?? defaultVariant(options), registered: options.registered ?? false,
      platform: flashUrl(platforms(i).url), rampPerSecond: options.rampPerSecond === null ? null : (options.rampPerSecond * count) / options.count,
      xmppPorts: platforms(i).xmppPorts, flashDir: options.flashDir, memoryBytesMax,
    };
    worker.send({ type: "start", config });
    workers.push(worker);
  }
  return workers;
}

/** Runs the fleet to its end (`layout` from fleetLayout); the report. */
export async function runFleet(options: FleetOptions, layout: FleetLayout, events: FleetEvents, stopSignal: { stop: boolean }): Promise<FleetReport> {
  const children: Child[] = [];
  try {
    const ranges = workerRanges(options, layout);
    const labs = await Promise.all(Array.from({ length: layout.labs }, (_, j) => startLab(j, options, ranges.filter((_, i) => i % layout.labs === j), children)));
    const platforms: Platforms = (i) => (labs.length > 0 ? labs[i % labs.length]! : { url: options.platform! });
    const tally: Tally = { progress: [], totals: [], fatal: undefined };
    const workers = startWorkers(options, ranges, platforms, children, tally, events);
    await Promise.all(workers.map((worker) => worker.waitFor("ready", CHILD_START_MS_MAX)));
    const watch = await watchFleet(options, tally, events, stopSignal);
    for (const worker of workers) worker.send({ type: "stop" });
    await Promise.all(workers.map((worker) => worker.waitFor("totals", CHILD_STOP_MS_MAX).catch((error: Error) => events.problem(error.message))));
    const labStats = await Promise.all(labs.map((lab) => {
      lab.child.send({ type: "stop" });
      return lab.child.waitFor<LabStats>("stats", CHILD_STOP_MS_MAX).catch(() => undefined);
    }));
    if (tally.fatal) events.problem(tally.fatal);
    return buildReport(tally.totals.filter((t): t is WorkerTotals => t !== undefined), {
      shard: `${options.shard.index}/${options.shard.count}`, profile: options.profile, platform: labs.length > 0 ? labs.map((lab) => lab.url).join(" ") : options.platform!,
      ramp: options.rampPerSecond, durationMs: watch.durationMs, timeToAllOnlineMs: watch.timeToAllOnlineMs, timeline: watch.timeline, idle: watch.idle,
      ...labTotals(labStats),
    });
  } finally {
    setTimeout(() => children.forEach((child) => child.kill()), 1000).unref();
  }
}

/** The lab processes' counts, summed; nothing when there was no lab or one did not answer. */
function labTotals(stats: (LabStats | undefined)[]): { labCpuMs: number | null; lab: FleetReport["lab"] } {
  if (stats.length === 0 || stats.some((s) => s === undefined)) return { labCpuMs: null, lab: null };
  const sum = (pick: (s: LabStats) => number) => stats.reduce((total, s) => total + pick(s!), 0);
  return {
    labCpuMs: sum((s) => s.cpuMs),
    lab: { locateCalls: sum((s) => s.locateCalls), logins: sum((s) => s.logins), registrations: sum((s) => s.registrations), refusals: sum((s) => s.refusals), connectionsMax: sum((s) => s.connectionsMax) },
  };
}

function sumStatuses(progress: WorkerProgress[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const p of progress) for (const [status, count] of Object.entries(p?.statuses ?? {})) total[status] = (total[status] ?? 0) + count;
  return total;
}

interface Watch {
  durationMs: number;
  timeToAllOnlineMs: number | null;
  timeline: Timeline;
  idle: { seconds: number; cpuPercent: number } | null;
}

/** Samples the workers' counts every step until the end: duration, all online (without duration), timeout, a stop. */
function watchFleet(options: FleetOptions, tally: Tally, events: FleetEvents, stopSignal: { stop: boolean }): Promise<Watch> {
  const started = performance.now();
  const timeline = new Timeline();
  const sum = (pick: (p: WorkerProgress) => number) => tally.progress.reduce((total, p) => total + (p ? pick(p) : 0), 0);
  let allOnlineAt: number | null = null;
  let cpuAtAllOnline = 0;
  let lastLogins = 0;
  let lastAt = started;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const elapsed = now - started;
      const online = sum((p) => p.online);
      timeline.record(elapsed, online);
      if (allOnlineAt === null && online === options.count) {
        allOnlineAt = elapsed;
        cpuAtAllOnline = sum((p) => p.cpuMs);
      }
      const logins = sum((p) => p.logins);
      events.progress({
        seconds: elapsed / 1000, started: sum((p) => p.started), online, retrying: sum((p) => p.retrying),
        loginsPerSecond: ((logins - lastLogins) * 1000) / Math.max(1, now - lastAt), statuses: sumStatuses(tally.progress),
      });
      lastLogins = logins;
      lastAt = now;
      const done = options.durationMs !== undefined ? elapsed >= options.durationMs : allOnlineAt !== null || elapsed >= options.timeoutMs;
      if (!done && !stopSignal.stop && !tally.fatal) return;
      clearInterval(timer);
      const idleMs = allOnlineAt === null ? 0 : elapsed - allOnlineAt;
      const idle = idleMs >= 5000 ? { seconds: Math.round(idleMs / 1000), cpuPercent: Math.round(((sum((p) => p.cpuMs) - cpuAtAllOnline) / idleMs) * 1000) / 10 } : null;
      resolve({ durationMs: Math.round(elapsed), timeToAllOnlineMs: allOnlineAt === null ? null : Math.round(allOnlineAt), timeline, idle });
    }, TIMELINE_STEP_MS);
  });
}

export { describeReport };
