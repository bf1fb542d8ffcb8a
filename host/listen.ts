// Listening on a port, as every server of the host does it (the lab's HTTP and XMPP sides, the web page).

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
