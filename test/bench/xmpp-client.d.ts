// The little of @xmpp/client (xmpp.js 0.14, no types of its own) that test/bench/xmppjs-logins.ts uses.

declare module "@xmpp/client" {
  import type { EventEmitter } from "node:events";

  export interface XmppCredentials {
    username: string;
    password: string;
  }

  /** Logs in with `credentials` by `mechanism` (one of those offered). */
  export type XmppAuthenticate = (credentials: XmppCredentials, mechanism: string) => Promise<void>;

  export interface XmppClientOptions {
    service: string;
    domain: string;
    username?: string;
    password?: string;
    resource?: string;
    /** Called at each login with the mechanisms both sides know, instead of xmpp.js's own choice. */
    credentials?: (authenticate: XmppAuthenticate, mechanisms: string[]) => Promise<void>;
  }

  export interface XmppClient extends EventEmitter {
    readonly status: string;
    /** Connects, logs in, binds: resolves once "online". */
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
  }

  export function client(options: XmppClientOptions): XmppClient;
}
