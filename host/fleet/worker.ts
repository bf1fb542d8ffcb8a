// A fleet worker process (forked by fleet.ts): runs its share of the rabbits and talks to the parent over IPC.
// In: {type: "start", config}, {type: "stop"}. Out: "ready", "progress" (every PROGRESS_INTERVAL_MS), "problem",
// "fatal" (it cannot run: a clear message, then exit 1), "totals" (after stop, then exit 0).

import { availableFdBudget } from "./limits.js";
import { FleetRabbits, FLEET_HTTP_IN_FLIGHT_MAX, fleetMac, type FleetRabbitsConfig } from "./rabbits.js";
import { FlashStore, FLASH_WRITES_IN_FLIGHT_MAX } from "./flash-store.js";
import type { WorkerMessage, WorkerCommand } from "./protocol.js";

export const PROGRESS_INTERVAL_MS = 250;
/** File descriptors a process needs besides its rabbits' sockets: Node itself, IPC, files. */
const FDS_BASE = 64;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function run(config: FleetRabbitsConfig & { flashDir?: string; index: number; memoryBytesMax: number }): Promise<void> {
  const needed = config.count + FLEET_HTTP_IN_FLIGHT_MAX + FLASH_WRITES_IN_FLIGHT_MAX + FDS_BASE;
  const budget = availableFdBudget();
  if (budget !== undefined && budget < needed) {
    send({ type: "fatal", message: `worker ${config.index} needs ${needed} file descriptors for its ${config.count} rabbits (one socket each, HTTP, flash files) and may open ${budget} (ulimit -n): raise the limit or use more workers (--workers)` });
    process.exit(1);
  }
  const problem = (message: string) => send({ type: "problem", message });
  if (config.flashDir) {
    config.flashStore = new FlashStore(config.flashDir, problem);
    await config.flashStore.load(Array.from({ length: config.count }, (_, i) => fleetMac(config.macBase, config.first + i)));
  }
  const rssBaseBytes = process.memoryUsage.rss();
  const rabbits = new FleetRabbits(config, (error) => problem(`a host task failed: ${(error as Error).stack ?? String(error)}`));
  const cpuAtStart = cpuMs();
  let memoryStop = false;
  const progress = setInterval(() => {
    const rss = process.memoryUsage.rss();
    send({ type: "progress", ...rabbits.progress(), cpuMs: cpuMs() - cpuAtStart, rssBytes: rss });
    if (rss > config.memoryBytesMax && !memoryStop) {
      memoryStop = true;
      send({ type: "fatal", message: `worker ${config.index} reached its memory budget (${Math.round(config.memoryBytesMax / 1048576)} MiB RSS) with ${rabbits.progress().started} rabbits started: the fleet stops; use fewer rabbits or more memory` });
    }
  }, PROGRESS_INTERVAL_MS);
  const stop = async () => {
    clearInterval(progress);
    rabbits.stop();
    await config.flashStore?.flush();
    send({ type: "totals", totals: rabbits.totals({ cpuMs: cpuMs() - cpuAtStart, rssBytes: process.memoryUsage.rss(), rssBaseBytes }) });
    process.disconnect?.();
    setImmediate(() => process.exit(0));
  };
  process.on("message", (message: WorkerCommand) => {
    if (message.type === "stop") void stop();
  });
  rabbits.start();
}

process.on("message", (message: WorkerCommand) => {
  if (message.type !== "start") return;
  const config = { ...message.config, macBase: BigInt(`0x${message.config.macBase}`) };
  run(config).catch((error: Error) => {
    send({ type: "fatal", message: `worker ${config.index}: ${error.message}` });
    process.exit(1);
  });
});
// The parent went away: nothing to report to.
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
