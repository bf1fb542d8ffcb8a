// The lab platform's HTTP side: what a rabbit calls (/vl/locate.jsp, /vl/sendMailXMPP.jsp; platform.md §1) and a
// small API to act on connected rabbits:
//   GET  /lab                                  the rabbits online and the accounts, as JSON
//   POST /lab/rabbits/MAC/ambient?left=N&right=N&nose=N
//   POST /lab/rabbits/MAC/sleep | /wake | /reboot
//   POST /lab/rabbits/MAC/packet?base64=B64    any payload, as it is (for testing a rabbit's checks)
// Answers close the connection after the body (the rabbit's HTTP/1.0 client reads to the end).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Accounts } from "./accounts.js";
import { ambientPacket, modePacket, rebootPacket } from "./packets.js";
import type { LabXmppServer } from "./xmpp-server.js";

export type LabHttpEvent =
  | { type: "locate"; mac: string }
  | { type: "failure-report"; mac: string; reason: string }
  | { type: "request"; path: string };

/** A request as the lab's handler sees it, whichever server (real or virtual) carried it. */
export interface LabHttpRequest {
  method: string;
  /** The request target: a path with its query. */
  target: string;
}

export interface LabHttpAnswer {
  status: number;
  type: string;
  body: string;
}

export interface LabHttpOptions {
  /** What locate.jsp names: the HTTP host:port (ping, broad) and the xmpp_domain (host:port form, OpenJabNab's). */
  publicHost: string;
  domain: string;
  xmppPort: () => number;
  accounts: Accounts;
  xmpp: LabXmppServer;
  onEvent?: (event: LabHttpEvent) => void;
}

export class LabHttpServer {
  private readonly server: Server;
  port = 0;
  /** sendMailXMPP.jsp calls, in order (tests read them). */
  readonly failureReports: { mac: string; reason: string }[] = [];

  constructor(private readonly options: LabHttpOptions) {
    this.server = createServer((request, response) => this.handle(request, response));
  }

  /** Serves on a virtual address: locate.jsp names this port (the virtual network has no real one). */
  useVirtualPort(port: number): void {
    this.port = port;
  }

  listen(port: number, host = "127.0.0.1"): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        this.port = (this.server.address() as { port: number }).port;
        resolve(this.port);
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const answer = this.answer({ method: request.method ?? "GET", target: request.url ?? "/" });
    response.writeHead(answer.status, { "Content-Type": answer.type, Connection: "close" });
    response.end(answer.body);
  }

  /** The lab's answer to one request. */
  answer(request: LabHttpRequest): LabHttpAnswer {
    const reply = (status: number, body: string, type = "text/plain"): LabHttpAnswer => ({ status, type, body });
    const url = new URL(request.target, "http://lab");
    const path = url.pathname;
    const o = this.options;
    if (request.method === "GET" && path === "/vl/locate.jsp") {
      o.onEvent?.({ type: "locate", mac: url.searchParams.get("sn") ?? "" });
      const base = `${o.publicHost}:${this.port}`;
      return reply(200, `ping ${base}\nbroad ${base}\nxmpp_domain ${o.domain}:${o.xmppPort()}\n`);
    }
    if (request.method === "GET" && path === "/vl/sendMailXMPP.jsp") {
      const mac = url.searchParams.get("m") ?? "";
      const reason = url.searchParams.get("r") ?? "";
      this.failureReports.push({ mac, reason });
      o.onEvent?.({ type: "failure-report", mac, reason });
      // As OpenJabNab: any report clears the stored password, so that the rabbit can register again.
      o.accounts.forget(mac);
      return reply(200, "");
    }
    if (request.method === "GET" && (path === "/lab" || path === "/lab/")) {
      return reply(200, JSON.stringify({ online: o.xmpp.online(), accounts: o.accounts.list() }, null, 2) + "\n", "application/json");
    }
    const action = /^\/lab\/rabbits\/([0-9a-f:]{12,17})\/(ambient|sleep|wake|reboot|packet)$/.exec(path);
    if (action && request.method === "POST") {
      const mac = action[1]!.replace(/:/g, "");
      const number = (name: string) => (url.searchParams.has(name) ? Number(url.searchParams.get(name)) : undefined);
      const payload = action[2] === "ambient" ? ambientPacket({ left: number("left"), right: number("right"), nose: number("nose") })
        : action[2] === "reboot" ? rebootPacket()
        : action[2] === "packet" ? Buffer.from(url.searchParams.get("base64") ?? "", "base64")
        : modePacket(action[2] === "sleep");
      const sent = o.xmpp.sendPacket(mac, payload);
      return reply(sent ? 200 : 404, JSON.stringify(sent ? { sent: action[2], mac } : { error: `${mac} is not connected` }) + "\n", "application/json");
    }
    o.onEvent?.({ type: "request", path });
    return reply(404, "not found\n");
  }
}
