// The fleet's side of the web page (`fleet --web PORT`): counts by state and the online-over-time chart, live. The
// fleet hands in one sample per step (its progress line's numbers); the page gets the whole timeline in its snapshot
// and one small event per step after that, whatever the number of rabbits.

import type { FleetProgress } from "../fleet/fleet.js";
import { Timeline } from "../fleet/report.js";
import type { WebEvent } from "./state.js";

/** One step of the fleet's progress. */
export type FleetSample = FleetProgress;

export class FleetView {
  private readonly timeline = new Timeline();
  private latest: FleetSample = { seconds: 0, started: 0, online: 0, retrying: 0, loginsPerSecond: 0, statuses: {} };
  private listener: ((event: WebEvent) => void) | undefined;
  private finished: string | undefined;

  constructor(readonly rabbits: number, readonly title: string) {}

  /** The web server's publisher. */
  attach(listener: (event: WebEvent) => void): void {
    this.listener = listener;
  }

  update(sample: FleetSample): void {
    this.latest = { ...sample, loginsPerSecond: Math.round(sample.loginsPerSecond) };
    this.timeline.record(sample.seconds * 1000, sample.online);
    this.listener?.({ kind: "fleet", ...this.latest });
  }

  /** The run ended: its summary lines, shown under the chart. */
  finish(summary: string[]): void {
    this.finished = summary.join("\n");
    this.listener?.({ kind: "fleet-done", summary: this.finished });
  }

  snapshot(): Record<string, unknown> {
    return { rabbits: this.rabbits, title: this.title, ...this.latest, timeline: this.timeline.toJSON(), summary: this.finished ?? null };
  }
}
