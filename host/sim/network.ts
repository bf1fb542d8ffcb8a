// The simulator's network: TCP between the rabbit and the lab on virtual time, with the faults a plan asks for. In
// order per direction (TCP), late by latency and jitter, server writes cut at random bytes, the rabbit's sends taken a
// few bytes at a time; connections refused, dropped (silent, no close) or reset (closed at once). Every random choice
// comes from the world's seeded generator, so a seed replays exactly.

import type { Connection, ConnectionEvents, Network, VirtualPeer } from "../vm/network.js";
import type { VirtualScheduler } from "../vm/scheduler.js";

export interface SimNetworkOptions {
  latencyMs: number;
  jitterMs: number;
  splitChance: number;
  partialChance: number;
  /** A server's stream header (and the features after it) arrive in one read (the firmware needs it: header-one-chunk). */
  headerWhole?: boolean;
}

/** One connection's two directions and its fate. */
interface SimLink {
  peer: VirtualPeer;
  events: ConnectionEvents;
  /** The last delivery time each way, so that deliveries stay in order. */
  toRabbitAt: number;
  toServerAt: number;
  established: boolean;
  closed: boolean;
  /** Dropped: nothing more goes through, and nobody is told. */
  silent: boolean;
}

export class SimNetwork implements Network {
  private readonly listeners = new Map<string, (peer: VirtualPeer) => void>();
  private readonly links: SimLink[] = [];
  /** Until this virtual time, connects are refused. */
  refuseUntil = -1;

  constructor(private readonly scheduler: VirtualScheduler, private readonly random: () => number, private readonly options: SimNetworkOptions) {}

  listen(address: string, port: number, accept: (peer: VirtualPeer) => void): void {
    this.listeners.set(`${address}:${port}`, accept);
  }

  open(address: string, port: number, events: ConnectionEvents): Connection {
    const accept = this.listeners.get(`${address}:${port}`);
    const link: SimLink = { peer: undefined!, events, toRabbitAt: 0, toServerAt: 0, established: false, closed: false, silent: false };
    link.peer = this.peerOf(link, address, port);
    this.links.push(link);
    this.scheduler.after(this.delay(), () => {
      if (link.closed) return;
      if (!accept || this.scheduler.now() < this.refuseUntil) {
        link.closed = true;
        events.closed();
        return;
      }
      link.established = true;
      accept(link.peer);
      events.writable();
    });
    return { send: (bytes) => this.send(link, bytes), close: () => this.closeFromRabbit(link) };
  }

  /** The newest open connection goes silent both ways. */
  drop(): void {
    const link = this.newest();
    if (link) link.silent = true;
  }

  /** The newest open connection is closed at once on both sides. */
  reset(): void {
    const link = this.newest();
    if (link) this.resetLink(link);
  }

  /** Every connection closed at once (the lab restarts). */
  resetAll(): void {
    for (const link of this.links) if (!link.closed) this.resetLink(link);
  }

  private newest(): SimLink | undefined {
    for (let i = this.links.length - 1; i >= 0; i--) if (!this.links[i]!.closed && this.links[i]!.established) return this.links[i];
    return undefined;
  }

  private resetLink(link: SimLink): void {
    link.closed = true;
    link.peer.onClose?.();
    link.events.closed();
  }

  private delay(): number {
    return this.options.latencyMs + Math.floor(this.random() * (this.options.jitterMs + 1));
  }

  /** When the next delivery one way may happen: late, but never before the one before it. */
  private deliveryTime(link: SimLink, toRabbit: boolean): number {
    const at = Math.max(this.scheduler.now() + this.delay(), toRabbit ? link.toRabbitAt : link.toServerAt);
    if (toRabbit) link.toRabbitAt = at;
    else link.toServerAt = at;
    return at;
  }

  private peerOf(link: SimLink, address: string, port: number): VirtualPeer {
    return {
      address,
      port,
      write: (data) => {
        const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
        for (const piece of this.pieces(bytes)) {
          const at = this.deliveryTime(link, true);
          this.scheduler.after(at - this.scheduler.now(), () => {
            if (!link.closed && !link.silent) link.events.data(piece);
          });
        }
      },
      end: () => {
        const at = this.deliveryTime(link, true);
        this.scheduler.after(at - this.scheduler.now(), () => {
          if (link.closed) return;
          link.closed = true;
          if (!link.silent) link.events.closed();
        });
      },
    };
  }

  /** A server write as the rabbit reads it: whole, or cut at random bytes. */
  private pieces(bytes: Uint8Array): Uint8Array[] {
    if (bytes.length < 2 || this.random() >= this.options.splitChance) return [bytes];
    if (this.options.headerWhole && bytes[0] === 0x3c && bytes[1] === 0x3f) return [bytes];
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < bytes.length) {
      const size = 1 + Math.floor(this.random() * Math.min(bytes.length - at, 64));
      out.push(bytes.slice(at, at + size));
      at += size;
    }
    return out;
  }

  private send(link: SimLink, bytes: Uint8Array): number {
    if (!link.established || link.closed) return -1;
    const partial = bytes.length > 1 && this.random() < this.options.partialChance;
    const taken = partial ? 1 + Math.floor(this.random() * (bytes.length - 1)) : bytes.length;
    const copy = bytes.slice(0, taken);
    const at = this.deliveryTime(link, false);
    this.scheduler.after(at - this.scheduler.now(), () => {
      if (!link.closed && !link.silent) link.peer.onData?.(copy);
    });
    if (taken < bytes.length) this.scheduler.after(1, () => !link.closed && link.events.writable());
    return taken;
  }

  private closeFromRabbit(link: SimLink): void {
    if (link.closed) return;
    link.closed = true;
    const at = this.deliveryTime(link, false);
    this.scheduler.after(at - this.scheduler.now(), () => link.peer.onClose?.());
  }
}
