// A simulator worker thread: runs its range of seeds and sends the report back (host/sim/sim.ts).

import { parentPort, workerData } from "node:worker_threads";
import type { SimOptions } from "./run.js";
import { runRange } from "./sim.js";

const { from, count, options } = workerData as { from: number; count: number; options: SimOptions };
parentPort!.postMessage(runRange(from, count, options));
