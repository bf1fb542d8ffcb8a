// The lab platform's HTTP side: what a rabbit calls (/vl/locate.jsp, /vl/sendMailXMPP.jsp; platform.md §1) and a
// small API to act on connected rabbits:
//   GET  /lab                                  the rabbits online and the accounts, as JSON
//   POST /lab/rabbits/MAC/ambient?left=N&right=N&nose=N
//   POST /lab/rabbits/MAC/sleep | /wake | /reboot
//   POST /lab/rabbits/MAC/packet?base64=B64    any payload, as it is (for testing a rabbit's checks)
// Answers close the connection after the body (the rabbit's HTTP/1.0 client reads to the end).
//
// Hostile input in mind: every request is bounded (limits.ts); a bad one gets one status and one line of text. What
// changes state (the POSTs) needs the lab's token (`Authorization: Bearer TOKEN`), and a browser page from another
// origin is refused, so a web page cannot command the lab. sendMailXMPP.jsp forgets a password only for a rabbit
// whose own login (or registration) failed here moments ago and that is not online: a stranger cannot reset an
// online rabbit's account and take it over.

import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Accounts } from "./accounts.js";
import * as limits from "./limits.js";
import { ambientPacket, modePacket, rebootPacket } from "./packets.js";
import type { LabXmppServer } from "./xmpp-server.js";
import { boundedHttpServer, listenOn } from "../listen.js";

export type LabHttpEvent =
  | { type: "locate"; mac: string }
  | { type: "failure-report"; mac: string; reason: string; forgotten: boolean; why: string }
  | { type: "request"; path: string; status: number; why: string };

/** A request as the lab's handler sees it, whichever server (real or virtual) carried it. */
export interface LabHttpRequest {
  method: string;
  /** The request target: a path with its query. */
  target: string;
  /** Header names in lower case. */
  headers?: Record<string, string | string[] | undefined>;
}

export interface LabHttpAnswer {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
}

export interface LabHttpOptions {
  /** What locate.jsp names: the HTTP host:port (ping, broad) and the xmpp_domain (host:port form, OpenJabNab's). */
  publicHost: string;
  domain: string;
  xmppPort: () => number;
  accounts: Accounts;
  xmpp: LabXmppServer;
  /** The API token; undefined: the state-changing API is closed. */
  token?: string;
  /** Tests shorten the slow-client deadlines (default: limits.ts). */
  headersTimeoutMs?: number;
  /** HTTP connections at once (default LAB_HTTP_CONNECTIONS_MAX; a fleet's lab allows more). */
  connectionsMax?: number;
  requestTimeoutMs?: number;
  onEvent?: (event: LabHttpEvent) => void;
}

const ACTIONS = ["ambient", "sleep", "wake", "reboot", "packet"] as const;
type Action = (typeof ACTIONS)[number];
/** Query parameters each action takes. */
const ACTION_PARAMETERS: Record<Action, string[]> = { ambient: ["left", "right", "nose"], sleep: [], wake: [], reboot: [], packet: ["base64"] };
/** A request target (path and query), characters: room for a packet of LAB_PACKET_BYTES_MAX in base64. */
const TARGET_CHARS_MAX = 7 * 1024;

const reply = (status: number, body: string, type = "text/plain", headers?: Record<string, string>): LabHttpAnswer => ({ status, type, body, headers });
const jsonReply = (status: number, value: unknown): LabHttpAnswer => reply(status, JSON.stringify(value) + "\n", "application/json");

/** "0019db01dbd7" or "00:19:db:01:db:d7", lower case: the 12 hex digits, or undefined. */
function macOf(text: string | null): string | undefined {
  if (text === null) return undefined;
  const mac = text.toLowerCase();
  if (/^[0-9a-f]{12}$/.test(mac)) return mac;
  if (/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) return mac.replace(/:/g, "");
  return undefined;
}

/** The path and query of a request target; undefined if it is not an origin-form target (RFC 9112 §3.2.1). */
function splitTarget(target: string): { path: string; query: URLSearchParams } | undefined {
  if (!target.startsWith("/") || target.length > TARGET_CHARS_MAX || /[^\x21-\x7e]/.test(target)) return undefined;
  const question = target.indexOf("?");
  const path = question < 0 ? target : target.slice(0, question);
  return { path, query: new URLSearchParams(question < 0 ? "" : target.slice(question + 1)) };
}

function header(request: LabHttpRequest, name: string): string | undefined {
  const value = request.headers?.[name];
  return Array.isArray(value) ? value[0] : value;
}

export class LabHttpServer {
  private readonly server: Server;
  port = 0;
  /** sendMailXMPP.jsp calls, in order (tests read them). */
  readonly failureReports: { mac: string; reason: string; forgotten: boolean }[] = [];

  constructor(private readonly options: LabHttpOptions) {
    this.server = boundedHttpServer({
      headerBytesMax: limits.LAB_HTTP_HEADER_BYTES_MAX,
      headersTimeoutMs: options.headersTimeoutMs ?? limits.LAB_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: options.requestTimeoutMs ?? limits.LAB_HTTP_REQUEST_TIMEOUT_MS,
      connectionsMax: options.connectionsMax ?? limits.LAB_HTTP_CONNECTIONS_MAX,
    }, (request, response) => this.handle(request, response));
  }

  /** Serves on a virtual address: locate.jsp names this port (the virtual network has no real one). */
  useVirtualPort(port: number): void {
    this.port = port;
  }

  async listen(port: number, host = "127.0.0.1"): Promise<number> {
    this.port = await listenOn(this.server, port, host);
    return this.port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const hasBody = (request.headers["content-length"] !== undefined && request.headers["content-length"] !== "0") || request.headers["transfer-encoding"] !== undefined;
    const answer = hasBody
      ? reply(413, "the lab's requests carry no body\n")
      : this.answer({ method: request.method ?? "GET", target: request.url ?? "/", headers: request.headers });
    response.writeHead(answer.status, { "Content-Type": answer.type, Connection: "close", ...answer.headers });
    response.end(answer.body);
    if (hasBody) request.socket.destroySoon();
  }

  /** The lab's answer to one request. */
  answer(request: LabHttpRequest): LabHttpAnswer {
    const target = splitTarget(request.target);
    if (!target) return this.refuse("?", reply(400, "bad request target\n"), "not an origin-form target");
    const { path, query } = target;
    if (path === "/vl/locate.jsp" || path === "/vl/sendMailXMPP.jsp" || path === "/lab" || path === "/lab/") {
      if (request.method !== "GET") return this.refuse(path, reply(405, "only GET here\n", "text/plain", { Allow: "GET" }), `${request.method} on a GET route`);
      if (path === "/vl/locate.jsp") return this.locate(query);
      if (path === "/vl/sendMailXMPP.jsp") return this.failureReport(query);
      const o = this.options;
      return reply(200, JSON.stringify({ online: o.xmpp.online(), accounts: o.accounts.list() }, null, 2) + "\n", "application/json");
    }
    const route = /^\/lab\/rabbits\/([^/]+)\/([a-z]+)$/.exec(path);
    if (route) {
      if (request.method !== "POST") return this.refuse(path, reply(405, "only POST here\n", "text/plain", { Allow: "POST" }), `${request.method} on a POST route`);
      return this.command(request, route[1]!, route[2]!, query);
    }
    return this.refuse(path, reply(404, "not found\n"), "no such route");
  }

  private refuse(path: string, answer: LabHttpAnswer, why: string): LabHttpAnswer {
    this.options.onEvent?.({ type: "request", path, status: answer.status, why });
    return answer;
  }

  private locate(query: URLSearchParams): LabHttpAnswer {
    const mac = macOf(query.get("sn"));
    if (!mac) return this.refuse("/vl/locate.jsp", reply(400, "sn must be a MAC address\n"), "no MAC in sn");
    const o = this.options;
    o.onEvent?.({ type: "locate", mac });
    const base = `${o.publicHost}:${this.port}`;
    return reply(200, `ping ${base}\nbroad ${base}\nxmpp_domain ${o.domain}:${o.xmppPort()}\n`);
  }

  /**
   * A rabbit's failure report. OpenJabNab forgets the password of `m` on any call; the lab only when that rabbit's
   * own login or registration failed here within LAB_FAILURE_REPORT_WINDOW_MS and it is not online now.
   */
  private failureReport(query: URLSearchParams): LabHttpAnswer {
    const mac = macOf(query.get("m"));
    const reason = query.get("r") ?? "";
    if (!mac || !/^(FailureLogin|FailureRegister1|FailureRegister2)$/.test(reason)) {
      return this.refuse("/vl/sendMailXMPP.jsp", reply(400, "m must be a MAC address and r a failure reason\n"), "bad m or r");
    }
    const o = this.options;
    const since = o.xmpp.sinceFailure(mac);
    const online = o.xmpp.online().some((rabbit) => rabbit.mac === mac);
    const why = online ? "it is online" : since === undefined ? "no failed login of it here" : since > limits.LAB_FAILURE_REPORT_WINDOW_MS ? `its last failure was ${Math.round(since / 1000)} s ago` : "its login failed just now";
    const forgotten = !online && since !== undefined && since <= limits.LAB_FAILURE_REPORT_WINDOW_MS && o.accounts.forget(mac);
    this.failureReports.push({ mac, reason, forgotten });
    o.onEvent?.({ type: "failure-report", mac, reason, forgotten, why });
    return reply(200, "");
  }

  /** The state-changing API: the token, no foreign origin, valid parameters, a connected rabbit. */
  private command(request: LabHttpRequest, macText: string, actionText: string, query: URLSearchParams): LabHttpAnswer {
    const path = `/lab/rabbits/${macText}/${actionText}`;
    const origin = header(request, "origin");
    const site = header(request, "sec-fetch-site");
    if ((origin !== undefined && !this.ownOrigin(origin)) || site === "cross-site" || site === "same-site") {
      return this.refuse(path, jsonReply(403, { error: "requests from another origin are refused" }), `origin ${origin ?? site}`);
    }
    if (!this.tokenGiven(header(request, "authorization"))) {
      return this.refuse(path, jsonReply(401, { error: "the lab's API needs its token: Authorization: Bearer TOKEN" }), "no or wrong token");
    }
    const mac = macOf(macText);
    const action = ACTIONS.find((name) => name === actionText);
    if (!mac || !action) return this.refuse(path, jsonReply(404, { error: mac ? `no action ${actionText} (${ACTIONS.join(", ")})` : `not a MAC address: ${macText}` }), "bad MAC or action");
    const payload = this.payload(action, query);
    if (typeof payload === "string") return this.refuse(path, jsonReply(400, { error: payload }), payload);
    const sent = this.options.xmpp.sendPacket(mac, payload);
    return jsonReply(sent ? 200 : 404, sent ? { sent: action, mac } : { error: `${mac} is not connected` });
  }

  private ownOrigin(origin: string): boolean {
    return origin === `http://127.0.0.1:${this.port}` || origin === `http://localhost:${this.port}` || origin === `http://${this.options.publicHost}:${this.port}`;
  }

  private tokenGiven(authorization: string | undefined): boolean {
    const token = this.options.token;
    const given = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
    if (!token || !given || given.length !== token.length) return false;
    return timingSafeEqual(Buffer.from(given), Buffer.from(token));
  }

  /** The packet an action sends, or what is wrong with its parameters. */
  private payload(action: Action, query: URLSearchParams): Buffer | string {
    const unknown = [...query.keys()].filter((name) => !ACTION_PARAMETERS[action].includes(name));
    if (unknown.length > 0) return `unknown parameter ${unknown[0]} for ${action} (takes: ${ACTION_PARAMETERS[action].join(", ") || "none"})`;
    if (action === "sleep" || action === "wake") return modePacket(action === "sleep");
    if (action === "reboot") return rebootPacket();
    if (action === "packet") return packetParameter(query.get("base64"));
    return ambientParameters(query);
  }
}

/** ?base64=…: strict base64 (RFC 4648, padded), 1 to LAB_PACKET_BYTES_MAX bytes; sent as it is. */
function packetParameter(text: string | null): Buffer | string {
  if (text === null || text.length === 0) return "packet needs base64=… (the payload, not empty)";
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return "base64 is not valid base64 (RFC 4648, with padding)";
  const bytes = Buffer.from(text, "base64");
  if (bytes.length > limits.LAB_PACKET_BYTES_MAX) return `a packet holds at most ${limits.LAB_PACKET_BYTES_MAX} bytes`;
  return bytes;
}

/** ?left=0..16&right=0..16&nose=0..2, at least one. */
function ambientParameters(query: URLSearchParams): Buffer | string {
  const values: Record<string, number | undefined> = {};
  for (const [name, max] of [["left", 16], ["right", 16], ["nose", 2]] as const) {
    const text = query.get(name);
    if (text === null) continue;
    if (!/^\d{1,2}$/.test(text) || Number(text) > max) return `${name} is a whole number from 0 to ${max}, not ${JSON.stringify(text.slice(0, 20))}`;
    values[name] = Number(text);
  }
  if (Object.keys(values).length === 0) return "ambient needs left, right or nose";
  return ambientPacket(values);
}
