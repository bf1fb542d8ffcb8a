// Listening on a port, as every server of the host does it (the lab's HTTP and XMPP sides, the web page), and the
// bounded HTTP server both HTTP sides are.

import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { Server as NetServer } from "node:net";

/**
 * Connections waiting to be accepted (the kernel caps it at net.core.somaxconn): room for a fleet of rabbits
 * connecting at once, where Node's default of 511 would drop SYNs and cost each late rabbit a retransmit second.
 */
export const LISTEN_BACKLOG = 4096;

/** Listens on `host:port` (0: any free port); resolves with the port, rejects with the listen error. */
export function listenOn(server: NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/** The bounds of an HTTP server: its headers' size and time, the whole request's time, connections at once. */
export interface HttpBounds {
  headerBytesMax: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  connectionsMax: number;
}

/** An HTTP server held to `bounds`: oversized headers get 431, slow clients are cut, extra connections refused. */
export function boundedHttpServer(bounds: HttpBounds, handle: (request: IncomingMessage, response: ServerResponse) => void): HttpServer {
  const server = createServer({
    maxHeaderSize: bounds.headerBytesMax,
    headersTimeout: bounds.headersTimeoutMs,
    requestTimeout: bounds.requestTimeoutMs,
    // Node checks those deadlines only this often (30 s by default).
    connectionsCheckingInterval: Math.min(1000, bounds.headersTimeoutMs),
  }, handle);
  server.maxConnections = bounds.connectionsMax;
  server.keepAliveTimeout = 1000;
  return server;
}
