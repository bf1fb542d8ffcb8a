// The rabbit's TCP (spec §2): open a connection to an IPv4 address, offer it bytes, get one event stream back
// (writable, data, closed). A real network over node:net, and a virtual one for tests and replays, where peers are
// functions and every delivery goes through the scheduler.

import { Socket } from "node:net";
import type { Scheduler } from "./scheduler.js";

export interface ConnectionEvents {
  /** Connected (the first time), or room again after a partial write. */
  writable(): void;
  data(bytes: Uint8Array): void;
  /** Closed by the peer, refused, or failed. Comes at most once, and not after close(). */
  closed(): void;
}

export interface Connection {
  /** Takes what it can of `bytes`; returns how many, or -1 if the connection is not established. */
  send(bytes: Uint8Array): number;
  close(): void;
}

export interface Network {
  open(address: string, port: number, events: ConnectionEvents): Connection;
}

export interface RealNetworkOptions {
  /** The source address to connect from (a fleet spreads its rabbits over 127.x addresses: ephemeral ports). */
  localAddress?: string;
  /** Why a connection failed (its error code: ECONNREFUSED, EMFILE, ...), before `closed`. */
  onError?: (code: string) => void;
}

/** Real TCP. Writes are taken whole (Node buffers them); a full buffer waits for 'drain' before the next event 0. */
export class RealNetwork implements Network {
  constructor(private readonly options: RealNetworkOptions = {}) {}

  open(address: string, port: number, events: ConnectionEvents): Connection {
    const socket = new Socket();
    let established = false;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      events.closed();
    };
    socket.setNoDelay(true);
    socket.on("connect", () => {
      established = true;
      events.writable();
    });
    socket.on("data", (data: Buffer) => {
      if (!finished) events.data(new Uint8Array(data.buffer, data.byteOffset, data.length));
    });
    socket.on("drain", () => {
      if (!finished) events.writable();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (!finished) this.options.onError?.(error.code ?? error.message);
      finish();
    });
    socket.on("close", () => finish());
    socket.connect({ host: address, port, ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}) });
    return {
      send(bytes: Uint8Array): number {
        if (!established || finished) return -1;
        socket.write(Buffer.from(bytes));
        return bytes.length;
      },
      close(): void {
        finished = true;
        socket.destroy();
      },
    };
  }
}

/** The server side of a virtual connection. */
export interface VirtualPeer {
  /** Sends bytes to the rabbit (one TCP read each, unless the network splits them). */
  write(data: string | Uint8Array): void;
  /** Closes the connection from the server's side. */
  end(): void;
  /** Set by the acceptor: bytes from the rabbit, and the rabbit closing. */
  onData?: (bytes: Uint8Array) => void;
  onClose?: () => void;
  readonly address: string;
  readonly port: number;
}

export interface VirtualNetworkOptions {
  /** Delay of each delivery, in ms. */
  latency?: number;
  /** At most this many bytes are taken per send (partial writes). */
  maxSegment?: number;
  /** Server writes are delivered in reads of at most this many bytes. */
  maxRead?: number;
}

/** Connections to addresses nobody listens on are refused. */
export class VirtualNetwork implements Network {
  private readonly listeners = new Map<string, (peer: VirtualPeer) => void>();

  constructor(private readonly scheduler: Scheduler, private readonly options: VirtualNetworkOptions = {}) {}

  listen(address: string, port: number, accept: (peer: VirtualPeer) => void): void {
    this.listeners.set(`${address}:${port}`, accept);
  }

  open(address: string, port: number, events: ConnectionEvents): Connection {
    const latency = this.options.latency ?? 0;
    const maxSegment = this.options.maxSegment ?? Number.POSITIVE_INFINITY;
    const maxRead = this.options.maxRead ?? Number.POSITIVE_INFINITY;
    const scheduler = this.scheduler;
    let established = false;
    let closed = false;
    const accept = this.listeners.get(`${address}:${port}`);
    const peer: VirtualPeer = {
      address,
      port,
      write(data) {
        const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
        for (let at = 0; at < bytes.length; at += maxRead) {
          const piece = bytes.slice(at, at + maxRead);
          scheduler.after(latency, () => {
            if (!closed) events.data(piece);
          });
        }
      },
      end() {
        scheduler.after(latency, () => {
          if (closed) return;
          closed = true;
          events.closed();
        });
      },
    };
    scheduler.after(latency, () => {
      if (closed) return;
      if (!accept) {
        closed = true;
        events.closed();
        return;
      }
      established = true;
      accept(peer);
      events.writable();
    });
    return {
      send(bytes: Uint8Array): number {
        if (!established || closed) return -1;
        const taken = Math.min(bytes.length, maxSegment);
        const copy = bytes.slice(0, taken);
        scheduler.after(latency, () => peer.onData?.(copy));
        // After a partial write the connection has room again a moment later.
        if (taken < bytes.length) scheduler.after(latency + 1, () => !closed && events.writable());
        return taken;
      },
      close(): void {
        if (closed) return;
        closed = true;
        scheduler.after(latency, () => peer.onClose?.());
      },
    };
  }
}
