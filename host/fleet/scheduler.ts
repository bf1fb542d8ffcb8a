// One clock for every rabbit of a fleet process: a binary heap of (time, sequence) entries and a single Node timer
// armed for the earliest. A rabbit with nothing due has no entry and costs nothing; ten thousand rabbits are one
// timer, not ten thousand intervals.
//
// Due tasks run from setImmediate, after the event loop's poll phase: when the loop was busy (a burst of boots), the
// bytes that arrived meanwhile are delivered first, so a rabbit's timeout does not fire merely because its answer was
// still waiting in a socket. A turn runs at most SCHEDULER_TASKS_PER_TURN_MAX tasks, then lets I/O in again.

import type { Scheduler, Timer } from "../vm/scheduler.js";

/** Tasks run in one turn of the event loop before sockets get their turn. */
export const SCHEDULER_TASKS_PER_TURN_MAX = 2_000;

interface Entry extends Timer {
  time: number;
  sequence: number;
  task: () => void;
}

export interface SchedulerStats {
  /** Tasks run so far. */
  tasks: number;
  /** The latest a task ran after its time, in ms (a measure of how busy the process was). */
  lagMsMax: number;
}

export class SharedScheduler implements Scheduler {
  private readonly heap: Entry[] = [];
  private readonly origin = performance.now();
  private sequence = 0;
  private cancelledInHeap = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private turnPending = false;
  /** Inside turn(): it arms the timer once at its end. */
  private inTurn = false;
  private closed = false;
  readonly stats: SchedulerStats = { tasks: 0, lagMsMax: 0 };

  /** `onError`: a task threw (a bug in the host); the others go on. */
  constructor(private readonly onError: (error: unknown) => void) {}

  now(): number {
    return Math.floor(performance.now() - this.origin);
  }

  after(delay: number, task: () => void): Timer {
    const entry: Entry = { time: this.now() + Math.max(0, Math.floor(delay)), sequence: this.sequence++, task, cancelled: false };
    this.push(entry);
    if (entry.time < this.armedFor && !this.turnPending && !this.inTurn) this.arm();
    return entry;
  }

  cancel(timer: Timer): void {
    if (timer.cancelled) return;
    timer.cancelled = true;
    this.cancelledInHeap++;
    // Cancelled entries are dropped as they surface; when they are most of the heap, all at once.
    if (this.cancelledInHeap > 1024 && this.cancelledInHeap * 2 > this.heap.length) this.compact();
  }

  /** Entries waiting (cancelled ones not counted). */
  get size(): number {
    return this.heap.length - this.cancelledInHeap;
  }

  /** Stops: nothing more runs. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.heap.length = 0;
  }

  private arm(): void {
    if (this.closed) return;
    this.dropCancelledTop();
    const next = this.heap[0];
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = next ? next.time : Number.POSITIVE_INFINITY;
    if (!next) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedFor = Number.POSITIVE_INFINITY;
      this.scheduleTurn();
    }, Math.max(0, next.time - this.now()));
  }

  private scheduleTurn(): void {
    if (this.turnPending || this.closed) return;
    this.turnPending = true;
    setImmediate(() => this.turn());
  }

  /** Runs what is due, up to the per-turn bound; then arms the timer for the next, or yields and comes back. */
  private turn(): void {
    this.turnPending = false;
    this.inTurn = true;
    const now = this.now();
    let run = 0;
    while (run < SCHEDULER_TASKS_PER_TURN_MAX && !this.closed) {
      this.dropCancelledTop();
      const top = this.heap[0];
      if (!top || top.time > now) break;
      this.pop();
      run++;
      this.stats.tasks++;
      this.stats.lagMsMax = Math.max(this.stats.lagMsMax, now - top.time);
      try {
        top.task();
      } catch (error) {
        this.onError(error);
      }
    }
    this.inTurn = false;
    if (run === SCHEDULER_TASKS_PER_TURN_MAX) this.scheduleTurn();
    else this.arm();
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) {
      this.pop();
      this.cancelledInHeap--;
    }
  }

  private compact(): void {
    const live = this.heap.filter((entry) => !entry.cancelled);
    this.heap.length = 0;
    this.cancelledInHeap = 0;
    for (const entry of live) this.push(entry);
  }

  private static before(a: Entry, b: Entry): boolean {
    return a.time < b.time || (a.time === b.time && a.sequence < b.sequence);
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    let at = heap.length;
    heap.push(entry);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!SharedScheduler.before(entry, heap[parent]!)) break;
      heap[at] = heap[parent]!;
      at = parent;
    }
    heap[at] = entry;
  }

  private pop(): Entry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || !last) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && SharedScheduler.before(heap[right]!, heap[left]!) ? right : left;
      if (!SharedScheduler.before(heap[child]!, last)) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = last;
    return top;
  }
}
