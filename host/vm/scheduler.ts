// Time for a rabbit. The host's two clocks: a real one (Node timers) and a virtual one, where time moves only when
// the scheduler runs its next event, so that a run with the same inputs gives the same bytes every time.

export interface Timer {
  cancelled: boolean;
}

export interface Scheduler {
  /** Milliseconds on this scheduler's clock. */
  now(): number;
  /** Runs `task` `delay` ms from now (0: as soon as the current task returns). */
  after(delay: number, task: () => void): Timer;
  cancel(timer: Timer): void;
}

interface Entry extends Timer {
  time: number;
  sequence: number;
  task: () => void;
}

/** Virtual time: an ordered queue of tasks; equal times run in the order they were scheduled. */
export class VirtualScheduler implements Scheduler {
  private time = 0;
  private sequence = 0;
  private queue: Entry[] = [];

  now(): number {
    return this.time;
  }

  after(delay: number, task: () => void): Timer {
    const entry: Entry = { time: this.time + Math.max(0, delay), sequence: this.sequence++, task, cancelled: false };
    // Binary insertion keeps the queue ordered by (time, sequence).
    let low = 0;
    let high = this.queue.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      const other = this.queue[middle]!;
      if (other.time < entry.time || (other.time === entry.time && other.sequence < entry.sequence)) low = middle + 1;
      else high = middle;
    }
    this.queue.splice(low, 0, entry);
    return entry;
  }

  cancel(timer: Timer): void {
    timer.cancelled = true;
  }

  /** The time of the next task, or undefined if there is none. */
  nextTime(): number | undefined {
    while (this.queue.length > 0 && this.queue[0]!.cancelled) this.queue.shift();
    return this.queue[0]?.time;
  }

  /** Runs the next task, moving time to it; false if there is none. */
  step(): boolean {
    for (;;) {
      const entry = this.queue.shift();
      if (!entry) return false;
      if (entry.cancelled) continue;
      this.time = entry.time;
      entry.task();
      return true;
    }
  }

  /** Runs tasks until `until` returns true, time would pass `deadline`, or nothing is left. */
  run(until: () => boolean = () => false, deadline = Number.POSITIVE_INFINITY): void {
    while (!until()) {
      const next = this.queue.find((entry) => !entry.cancelled);
      if (!next || next.time > deadline) {
        if (deadline !== Number.POSITIVE_INFINITY && this.time < deadline) this.time = deadline;
        return;
      }
      this.step();
    }
  }
}

/** Real time, from the moment it was made. */
export class RealScheduler implements Scheduler {
  private readonly start = performance.now();
  private readonly timers = new Map<Timer, NodeJS.Timeout>();

  now(): number {
    return Math.floor(performance.now() - this.start);
  }

  after(delay: number, task: () => void): Timer {
    const timer: Timer = { cancelled: false };
    const handle = setTimeout(() => {
      this.timers.delete(timer);
      if (!timer.cancelled) task();
    }, Math.max(0, delay));
    this.timers.set(timer, handle);
    return timer;
  }

  cancel(timer: Timer): void {
    timer.cancelled = true;
    const handle = this.timers.get(timer);
    if (handle) clearTimeout(handle);
    this.timers.delete(timer);
  }

  /** Cancels everything (a clean stop). */
  cancelAll(): void {
    for (const timer of [...this.timers.keys()]) this.cancel(timer);
  }
}
