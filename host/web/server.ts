// The rabbit's web page (`run --web PORT`, `start`): static files from host/web/static/, a stream of server-sent
// events (events.ts) and a few POSTs that act on the rabbit (button, ears) and, when the lab runs, through the lab
// (ambient, sleep, wake, reboot: its API called in-process with its token, which the browser never sees):
//   GET  /                      the page (?rabbit=MAC: that rabbit; default the first)
//   GET  /events[?rabbit=MAC]   server-sent events: a snapshot, then changes
//   GET  /api/state             the same snapshot as JSON
//   POST /api/rabbits/MAC/button {"clicks":1|2}      POST /api/rabbits/MAC/ears {"left":N,"right":N}
//   POST /api/lab/rabbits/MAC/ambient {"left":N,"right":N,"nose":N} | /sleep | /wake | /reboot
//
// Like the lab's HTTP server (lab/http-server.ts): loopback by default, bounded (limits.ts), one status and one line
// for a bad request. What changes state needs the page's token, made at every start and written into the page
// (X-Page-Token: same-origin scripts read it, other origins cannot); a request from another origin gets 403, and so
// does one whose Host is not this server's (a DNS-rebinding page would otherwise be "same-origin").

import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { LabHttpEvent } from "../lab/http-server.js";
import { describeLabEvent, type Lab } from "../lab/lab.js";
import type { LabEvent } from "../lab/xmpp-server.js";
import { EventHub } from "./events.js";
import type { FleetView } from "./fleet-view.js";
import * as limits from "./limits.js";
import { pushBounded, type RabbitView, type WebEvent } from "./state.js";
import { boundedHttpServer, listenOn } from "../listen.js";

/** What the page may do to a rabbit: what the keyboard and the signals do. */
export interface RabbitControl {
  button(clicks: 1 | 2): void;
  ears(left: number, right: number): void;
}

export interface WebRabbit {
  view: RabbitView;
  /** The running rabbit; undefined while there is none. */
  control: () => RabbitControl | undefined;
}

export const LAB_ACTIONS = ["ambient", "sleep", "wake", "reboot"] as const;
export type LabAction = (typeof LAB_ACTIONS)[number];

/** The lab as the page sees it. */
export interface WebLab {
  platformUrl: string;
  dialect: string;
  online(): { mac: string; resource: string; jid: string }[];
  /** One action through the lab's API; its answer as it is. */
  command(mac: string, action: LabAction, query: URLSearchParams): { status: number; body: string };
}

/** The in-process lab: its API's own checks and answers, with its token added here, server-side. */
export function webLab(lab: Lab): WebLab {
  return {
    platformUrl: lab.platformUrl,
    dialect: lab.dialect,
    online: () => lab.xmpp.online(),
    command: (mac, action, query) => {
      const search = query.toString();
      const target = `/lab/rabbits/${mac}/${action}${search ? `?${search}` : ""}`;
      return lab.http.answer({ method: "POST", target, headers: { authorization: `Bearer ${lab.token}` } });
    },
  };
}

export interface WebServerOptions {
  rabbits: WebRabbit[];
  lab?: WebLab;
  /** A fleet: its page (counts by state, the online chart) instead of a rabbit's. */
  fleet?: FleetView;
  /** Tests shorten or narrow these (default: limits.ts). */
  headersTimeoutMs?: number;
  clientsMax?: number;
  backlogBytesMax?: number;
  heartbeatMs?: number;
}

interface Answer {
  status: number;
  type: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

const STATIC_DIR = new URL("../../../host/web/static/", import.meta.url);
const STATIC_FILES: Record<string, [file: string, type: string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/style.css": ["style.css", "text/css; charset=utf-8"],
};
/** A fleet's page. */
const FLEET_FILES: Record<string, [file: string, type: string]> = {
  "/": ["fleet.html", "text/html; charset=utf-8"],
  "/fleet.js": ["fleet.js", "text/javascript; charset=utf-8"],
  "/style.css": ["style.css", "text/css; charset=utf-8"],
};
/** Scripts, styles and connections from this server only; no frames (no clickjacking), no forms, no plug-ins. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const RABBIT_ACTIONS = ["button", "ears"] as const;

const reply = (status: number, body: string, headers?: Record<string, string>): Answer => ({ status, type: "text/plain; charset=utf-8", body: body + "\n", headers });
const jsonReply = (status: number, value: unknown): Answer => ({ status, type: "application/json", body: JSON.stringify(value) + "\n" });

/** "0019db01dbd7" or "00:19:db:01:db:d7": the 12 lower-case hex digits, or undefined. */
export function macOf(text: string): string | undefined {
  const mac = text.toLowerCase().replace(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, (colons) => colons.replace(/:/g, ""));
  return /^[0-9a-f]{12}$/.test(mac) ? mac : undefined;
}

export class WebServer {
  /** The page's token, new at every start. */
  readonly token = randomBytes(16).toString("hex");
  /** Which start this is: a page that finds another one after reconnecting reloads (for the new token). */
  readonly instance = randomBytes(8).toString("hex");
  port = 0;
  private host = "127.0.0.1";
  private readonly server: Server;
  private readonly hub: EventHub;
  private readonly rabbits = new Map<string, WebRabbit>();
  private readonly files = new Map<string, Answer>();
  private readonly labLines: { time: number; text: string }[] = [];
  private labTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WebServerOptions) {
    for (const rabbit of options.rabbits) {
      this.rabbits.set(rabbit.view.mac, rabbit);
      rabbit.view.attach((event) => this.hub.publish(event));
    }
    options.fleet?.attach((event) => this.hub.publish(event));
    this.hub = new EventHub({ snapshot: (rabbit) => this.snapshot(rabbit), clientsMax: options.clientsMax, backlogBytesMax: options.backlogBytesMax, heartbeatMs: options.heartbeatMs });
    this.loadFiles();
    this.server = boundedHttpServer({
      headerBytesMax: limits.WEB_HEADER_BYTES_MAX,
      headersTimeoutMs: options.headersTimeoutMs ?? limits.WEB_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: limits.WEB_REQUEST_TIMEOUT_MS,
      connectionsMax: limits.WEB_CONNECTIONS_MAX,
    }, (request, response) => this.handle(request, response));
  }

  /** Event streams open now. */
  get streams(): number {
    return this.hub.size;
  }

  /** Event streams dropped because their client did not keep up, since the start. */
  get droppedStreams(): number {
    return this.hub.dropped;
  }

  get url(): string {
    return `http://${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}/`;
  }

  async listen(port: number, host = "127.0.0.1"): Promise<number> {
    this.host = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    this.port = await listenOn(this.server, port, host);
    return this.port;
  }

  close(): Promise<void> {
    if (this.labTimer) clearTimeout(this.labTimer);
    this.hub.close();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** A lab event: its line for the page, and (at most every WEB_LAB_REFRESH_MS) who is online. */
  labEvent(event: LabEvent | LabHttpEvent): void {
    const text = describeLabEvent(event);
    if (text) {
      const line = { time: Date.now(), text };
      pushBounded(this.labLines, line);
      this.hub.publish({ kind: "lab-line", ...line });
    }
    if (this.labTimer || this.hub.size === 0) return;
    this.labTimer = setTimeout(() => {
      this.labTimer = undefined;
      if (this.options.lab) this.hub.publish({ kind: "lab", online: this.options.lab.online() });
    }, limits.WEB_LAB_REFRESH_MS);
  }

  /** Everything a page shows: one rabbit's full view, or every rabbit's summary; the lab's side. */
  snapshot(rabbit: string | undefined): WebEvent {
    const views = rabbit === undefined ? [...this.rabbits.values()] : [this.rabbits.get(rabbit)].filter((r) => r !== undefined);
    const lab = this.options.lab;
    return {
      kind: "hello",
      server: this.instance,
      rabbits: views.map((r) => r.view.snapshot(rabbit !== undefined)),
      lab: lab ? { platform: lab.platformUrl, dialect: lab.dialect, online: lab.online(), lines: [...this.labLines] } : null,
      fleet: this.options.fleet?.snapshot() ?? null,
    };
  }

  private loadFiles(): void {
    const first = this.options.rabbits[0]?.view.mac ?? "";
    for (const [path, [file, type]] of Object.entries(this.options.fleet ? FLEET_FILES : STATIC_FILES)) {
      let body = readFileSync(new URL(file, STATIC_DIR), "utf8");
      if (file === "index.html") body = body.replace("{{PAGE_TOKEN}}", this.token).replace("{{RABBIT}}", first);
      this.files.set(path, { status: 200, type, body, headers: { "Content-Security-Policy": CSP } });
    }
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const answer = this.route(request, response);
    // Answered at once: any body is left unread.
    if (answer) send(request, response, answer, hasBody(request));
  }

  /** The answer to a request, or undefined when the request is answered later (a POST's body, a stream). */
  private route(request: IncomingMessage, response: ServerResponse): Answer | undefined {
    const target = request.url ?? "/";
    if (!target.startsWith("/") || target.length > limits.WEB_TARGET_CHARS_MAX || /[^\x21-\x7e]/.test(target)) return reply(400, "bad request target");
    if (!this.ownHost(request.headers.host)) return reply(403, "this server answers only to its own address (Host)");
    const question = target.indexOf("?");
    const path = question < 0 ? target : target.slice(0, question);
    const query = new URLSearchParams(question < 0 ? "" : target.slice(question + 1));
    const file = this.files.get(path);
    if (file || path === "/events" || path === "/api/state") {
      if (request.method !== "GET") return reply(405, "only GET here", { Allow: "GET" });
      if (file) return file;
      const foreign = this.foreign(request);
      if (foreign) return foreign;
      return path === "/api/state" ? jsonReply(200, this.snapshot(undefined)) : this.events(response, query);
    }
    const post = /^\/api\/(lab\/)?rabbits\/([^/]+)\/([a-z]+)$/.exec(path);
    if (!post) return reply(404, "not found");
    if (request.method !== "POST") return reply(405, "only POST here", { Allow: "POST" });
    const refused = this.refusal(request);
    if (refused) return refused;
    void readBody(request).then((body) => {
      if (body === null) return;
      if (body === undefined) send(request, response, jsonReply(413, { error: `a body holds at most ${limits.WEB_BODY_BYTES_MAX} bytes` }), true);
      else send(request, response, this.act(post[1] !== undefined, post[2]!, post[3]!, body), false);
    });
    return undefined;
  }

  private events(response: ServerResponse, query: URLSearchParams): Answer | undefined {
    const text = query.get("rabbit");
    const rabbit = text === null ? undefined : macOf(text);
    if (text !== null && (!rabbit || !this.rabbits.has(rabbit))) return jsonReply(404, { error: `no rabbit ${text.slice(0, 20)} here` });
    if (this.hub.full) return reply(503, `at most ${this.options.clientsMax ?? limits.WEB_CLIENTS_MAX} pages at once`, { "Retry-After": "5" });
    this.hub.open(response, rabbit);
    return undefined;
  }

  /** A POST's checks before its body is read: its size, its origin, the page's token. */
  private refusal(request: IncomingMessage): Answer | undefined {
    const declared = Number(request.headers["content-length"] ?? 0);
    if (!(declared <= limits.WEB_BODY_BYTES_MAX)) return jsonReply(413, { error: `a body holds at most ${limits.WEB_BODY_BYTES_MAX} bytes` });
    const foreign = this.foreign(request);
    if (foreign) return foreign;
    const given = request.headers["x-page-token"];
    const token = typeof given === "string" && given.length === this.token.length && timingSafeEqual(Buffer.from(given), Buffer.from(this.token));
    if (!token) return jsonReply(401, { error: "this needs the page's token (X-Page-Token), which the page holds" });
    return undefined;
  }

  /** 403 for a request from a page of another origin. */
  private foreign(request: IncomingMessage): Answer | undefined {
    const origin = request.headers.origin;
    const site = request.headers["sec-fetch-site"];
    if ((origin !== undefined && !this.ownNames().some((name) => origin === `http://${name}`)) || site === "cross-site" || site === "same-site") {
      return jsonReply(403, { error: "requests from another origin are refused" });
    }
    return undefined;
  }

  private ownNames(): string[] {
    const hosts = new Set(["127.0.0.1", "localhost", "[::1]", this.host.includes(":") ? `[${this.host}]` : this.host]);
    return [...hosts].map((host) => `${host}:${this.port}`);
  }

  private ownHost(host: string | undefined): boolean {
    return host !== undefined && this.ownNames().includes(host.toLowerCase());
  }

  /** A checked POST: its parameters, then the action on the rabbit or through the lab. */
  private act(throughLab: boolean, macText: string, action: string, body: string): Answer {
    const mac = macOf(macText);
    if (!mac) return jsonReply(404, { error: `not a MAC address: ${macText.slice(0, 20)}` });
    const parameters = parseParameters(body);
    if (typeof parameters === "string") return jsonReply(400, { error: parameters });
    if (throughLab) return this.labAction(mac, action, parameters);
    const rabbit = this.rabbits.get(mac);
    const found = RABBIT_ACTIONS.find((name) => name === action);
    if (!rabbit || !found) return jsonReply(404, { error: rabbit ? `no action ${action} (${RABBIT_ACTIONS.join(", ")})` : `no rabbit ${mac} on this page` });
    const checked = found === "button" ? integers(parameters, { clicks: [1, 2] }, true) : integers(parameters, { left: [0, 16], right: [0, 16] }, true);
    if (typeof checked === "string") return jsonReply(400, { error: checked });
    const control = rabbit.control();
    if (!control) return jsonReply(503, { error: "the rabbit is not running" });
    if (found === "button") control.button(checked.clicks === 2 ? 2 : 1);
    else {
      control.ears(checked.left!, checked.right!);
      rabbit.view.earsMoved(checked.left!, checked.right!);
    }
    return jsonReply(200, { done: found, mac, ...checked });
  }

  private labAction(mac: string, action: string, parameters: Record<string, unknown>): Answer {
    const lab = this.options.lab;
    if (!lab) return jsonReply(404, { error: "no lab runs with this page (nabaztag-vm start runs one)" });
    const found = LAB_ACTIONS.find((name) => name === action);
    if (!found) return jsonReply(404, { error: `no lab action ${action} (${LAB_ACTIONS.join(", ")})` });
    // The lab checks the ranges; here only that they are whole numbers, and no other parameter.
    const checked = integers(parameters, found === "ambient" ? { left: [0, 99], right: [0, 99], nose: [0, 99] } : {}, false);
    if (typeof checked === "string") return jsonReply(400, { error: checked });
    const query = new URLSearchParams(Object.entries(checked).map(([name, value]): [string, string] => [name, String(value)]));
    const answer = lab.command(mac, found, query);
    return { status: answer.status, type: "application/json", body: answer.body };
  }
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers["content-length"];
  return (length !== undefined && length !== "0") || request.headers["transfer-encoding"] !== undefined;
}

/** Writes an answer; with a body left `unread` the connection is closed rather than read to its end. */
function send(request: IncomingMessage, response: ServerResponse, answer: Answer, unread: boolean): void {
  response.writeHead(answer.status, {
    "Content-Type": answer.type,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    ...(unread ? { Connection: "close" } : {}),
    ...answer.headers,
  });
  response.end(answer.body);
  if (unread) request.socket.destroySoon();
}

/** The body as text; undefined when it is larger than WEB_BODY_BYTES_MAX; null when the request broke off. */
function readBody(request: IncomingMessage): Promise<string | undefined | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limits.WEB_BODY_BYTES_MAX) chunks.push(chunk);
      else {
        request.pause();
        resolve(undefined);
      }
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", () => resolve(null));
  });
}

/** A POST's body: empty, or a JSON object. */
function parseParameters(body: string): Record<string, unknown> | string {
  if (body.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return "the body is not JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "the body is a JSON object";
  return value as Record<string, unknown>;
}

/** Whole numbers in their ranges, no other parameter; all of them when `required`. */
function integers(parameters: Record<string, unknown>, ranges: Record<string, [number, number]>, required: boolean): Record<string, number> | string {
  const values: Record<string, number> = {};
  for (const name of Object.keys(parameters)) {
    if (!(name in ranges)) return `unknown parameter ${name.slice(0, 20)} (takes: ${Object.keys(ranges).join(", ") || "none"})`;
  }
  for (const [name, [min, max]] of Object.entries(ranges)) {
    const value = parameters[name];
    if (value === undefined && !required) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) return `${name} is a whole number from ${min} to ${max}`;
    values[name] = value;
  }
  return values;
}
