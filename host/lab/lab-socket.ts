// What the lab's XMPP connections need of a socket, so that the same lab code serves real TCP (node:net) and the
// virtual network of the simulations and tests (host/vm/network.ts), in one process, on virtual time.

import type { Socket } from "node:net";
import type { VirtualPeer } from "../vm/network.js";

export interface LabSocket {
  /** "address:port" of the rabbit. */
  readonly remote: string;
  write(bytes: Buffer): void;
  /** Drops the connection at once; `closed` follows. */
  destroy(): void;
  /** Bytes from the rabbit, one read at a time. */
  onData(handler: (data: Buffer) => void): void;
  /** The connection is gone (either side, or an error); comes once. */
  onClosed(handler: () => void): void;
}

export function nodeLabSocket(socket: Socket): LabSocket {
  const closedHandlers: (() => void)[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const handler of closedHandlers) handler();
  };
  socket.on("error", close);
  socket.on("close", close);
  return {
    remote: `${socket.remoteAddress}:${socket.remotePort}`,
    write: (bytes) => {
      if (!closed) socket.write(bytes);
    },
    destroy: () => socket.destroy(),
    onData: (handler) => socket.on("data", handler),
    onClosed: (handler) => closedHandlers.push(handler),
  };
}

export function virtualLabSocket(peer: VirtualPeer): LabSocket {
  const closedHandlers: (() => void)[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const handler of closedHandlers) handler();
  };
  peer.onClose = close;
  return {
    remote: `rabbit->${peer.address}:${peer.port}`,
    write: (bytes) => {
      if (!closed) peer.write(bytes);
    },
    destroy: () => {
      if (closed) return;
      peer.end();
      close();
    },
    onData: (handler) => {
      peer.onData = (bytes) => {
        if (!closed) handler(Buffer.from(bytes));
      };
    },
    onClosed: (handler) => closedHandlers.push(handler),
  };
}
