// What the lab's XMPP connections need of a socket, so that the same lab code serves real TCP (node:net) and the
// virtual network of the simulations and tests (host/vm/network.ts), in one process, on virtual time.

import type { Socket } from "node:net";
import type { VirtualPeer } from "../vm/network.js";

export interface LabSocket {
  /** "address:port" of the rabbit. */
  readonly remote: string;
  /** The rabbit's address alone (connection limits per address). */
  readonly address: string;
  write(bytes: Buffer): void;
  /** Drops the connection at once; `closed` follows. */
  destroy(): void;
  /** Bytes from the rabbit, one read at a time. */
  onData(handler: (data: Buffer) => void): void;
  /** The connection is gone (either side, or an error); comes once. */
  onClosed(handler: () => void): void;
}

/** The end of a connection, told once to every handler however many ways it is reported. */
function closing(): { closed(): boolean; close(): void; onClosed(handler: () => void): void } {
  const handlers: (() => void)[] = [];
  let done = false;
  return {
    closed: () => done,
    close: () => {
      if (done) return;
      done = true;
      for (const handler of handlers) handler();
    },
    onClosed: (handler) => handlers.push(handler),
  };
}

export function nodeLabSocket(socket: Socket): LabSocket {
  const end = closing();
  socket.on("error", end.close);
  socket.on("close", end.close);
  return {
    remote: `${socket.remoteAddress}:${socket.remotePort}`,
    address: socket.remoteAddress ?? "?",
    write: (bytes) => {
      if (!end.closed()) socket.write(bytes);
    },
    destroy: () => socket.destroy(),
    onData: (handler) => socket.on("data", handler),
    onClosed: end.onClosed,
  };
}

export function virtualLabSocket(peer: VirtualPeer): LabSocket {
  const end = closing();
  const closed = end.closed;
  const close = end.close;
  peer.onClose = close;
  return {
    remote: `rabbit->${peer.address}:${peer.port}`,
    address: "virtual",
    write: (bytes) => {
      if (!closed()) peer.write(bytes);
    },
    destroy: () => {
      if (closed()) return;
      peer.end();
      close();
    },
    onData: (handler) => {
      peer.onData = (bytes) => {
        if (!closed()) handler(Buffer.from(bytes));
      };
    },
    onClosed: end.onClosed,
  };
}

/** Timers for the lab's deadlines: real ones, or the virtual scheduler's. Returns a function that cancels. */
export type LabTimers = (ms: number, task: () => void) => () => void;

export const realTimers: LabTimers = (ms, task) => {
  const timer = setTimeout(task, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * A connection's two deadlines: a finished login within LAB_LOGIN_DEADLINE_MS of connecting, then no silence longer
 * than LAB_IDLE_TIMEOUT_MS. `expired` gets the reason.
 */
export class ConnectionDeadlines {
  private cancel: () => void;
  private loggedIn = false;

  constructor(private readonly timers: LabTimers, private readonly limits: { loginMs: number; idleMs: number }, private readonly expired: (reason: string) => void) {
    this.cancel = timers(limits.loginMs, () => expired(`no login within ${limits.loginMs / 1000} s of connecting`));
  }

  /** The login is done: from now on only silence counts. */
  login(): void {
    if (this.loggedIn) return;
    this.loggedIn = true;
    this.activity();
  }

  /** Bytes came in. */
  activity(): void {
    if (!this.loggedIn) return;
    this.cancel();
    this.cancel = this.timers(this.limits.idleMs, () => this.expired(`silent for ${this.limits.idleMs / 1000} s`));
  }

  stop(): void {
    this.cancel();
  }
}
