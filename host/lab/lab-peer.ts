// What a connection of either dialect and the lab's XMPP server share: the events the lab reports, what the server
// needs of a connection (LabPeer), and what a connection needs of the server (LabServerSide). Below both, so that a
// dialect's connection (openjabnab-connection.ts) does not import the server that creates it.

import type { Accounts } from "./accounts.js";
import type { ConnectionDeadlines, LabSocket } from "./lab-socket.js";

export type LabEvent =
  | { type: "connected"; remote: string }
  | { type: "registered"; mac: string }
  | { type: "register-refused"; mac: string }
  | { type: "login"; mac: string; mechanism: string }
  | { type: "login-failed"; mac: string; reason: string }
  | { type: "bound"; mac: string; resource: string }
  | { type: "sources"; mac: string }
  | { type: "online"; mac: string; resource: string }
  | { type: "unbound"; mac: string; resource: string }
  | { type: "message"; mac: string; payload: string }
  | { type: "packet-sent"; mac: string; resource: string; base64: string }
  | { type: "disconnected"; mac?: string }
  /** A connection turned away or closed by one of the lab's limits (limits.ts). */
  | { type: "limit"; mac?: string; remote: string; reason: string }
  /** The openjabnab dialect closed the connection (OpenJabNab's log line). */
  | { type: "refused"; mac?: string; after: string; reason: string }
  /** The openjabnab dialect left a stanza unanswered (OpenJabNab's log line). */
  | { type: "unhandled"; mac?: string; what: string }
  /** The tolerant dialect accepted what OpenJabNab would refuse. */
  | { type: "strict-note"; mac?: string; note: string };

/** What the server needs of a connection, whichever dialect speaks on it. */
export interface LabPeer {
  /** The rabbit, once its login named it. */
  readonly mac: string | undefined;
  /** The resource bound last (the rabbit's current one), once logged in. */
  readonly resource: string | undefined;
  jid(resource: string): string;
  destroy(): void;
  sendPacket(payload: Buffer): void;
}


/** What a connection needs of the server it belongs to (xmpp-server.ts, LabXmppServer). */
export interface LabServerSide {
  readonly options: { readonly domain: string; readonly accounts: Accounts };
  readonly limits: { readonly readBytesMax: number };
  random(): number;
  emit(event: LabEvent): void;
  deadlines(socket: LabSocket, mac: () => string | undefined, close: () => void): ConnectionDeadlines;
  connectionOf(mac: string): LabPeer | undefined;
}
