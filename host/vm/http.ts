// The rabbit's HTTP GET (spec §2, platform.md §1): URLs "[http://]host[:port]/path"; only a 200 counts (302 is
// followed twice at most); the body is whatever follows the headers until the server closes. Real (node:http) or
// virtual (a function answers, through the scheduler).
//
// The URLs come from the network (locate.jsp's "ping", a redirect's Location) and the answers from any server, so
// RealHttp checks every URL before use, bounds every answer (bytes, headers, time, requests in flight) and reports
// each failure as a short reason in `error`; it never throws and calls `done` exactly once, asynchronously.

import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import type { LookupFunction } from "node:net";
import { dnsNameProblem, printable } from "./dns.js";
import type { Scheduler } from "./scheduler.js";

export interface HttpAnswer {
  /** HTTP status, or -1 when no (complete) answer came (refused, DNS, timeout, bad URL, closed mid-body). */
  status: number;
  body: Uint8Array;
  /** Why the answer is not a plain 200: one short line for a log ("connection refused", "HTTP 404", ...). */
  error?: string;
}

export interface HttpClient {
  /** `wantBody` false: fire and forget (the module ignores the answer); such a request never evicts another. */
  get(url: string, done: (answer: HttpAnswer) => void, wantBody?: boolean): void;
}

/** The module's IO_IN capacity: it reads no more of a body, so no more is read from the server. */
export const HTTP_BODY_BYTES_MAX = 16384;
/** Status line and headers together (node:http's maxHeaderSize); a longer head is a failed answer. */
export const HTTP_HEADER_BYTES_MAX = 8192;
/** 302s followed per request, as the firmware. */
export const HTTP_REDIRECTS_MAX = 2;
/** DNS lookup and TCP connect, per hop. */
export const HTTP_CONNECT_TIMEOUT_MS = 5000;
/** The whole request, redirects included: below the module's 10 s locate retry, so a retry never overlaps. */
export const HTTP_RESPONSE_TIMEOUT_MS = 9000;
/** Requests open at once per client; a new one that wants its body aborts the oldest beyond this. */
export const HTTP_REQUESTS_IN_FLIGHT_MAX = 4;
/** Longest URL taken (the module's own URL buffer holds 512 bytes). */
export const HTTP_URL_CHARS_MAX = 1024;

export interface HttpTarget {
  host: string;
  port: number;
  /** Starts with "/"; spaces and bytes 0x80..0xFF percent-encoded. */
  path: string;
}

export type Parsed = { target: HttpTarget } | { problem: string };

/**
 * Percent-encodes spaces and bytes 0x80..0xFF (servers decode them to the bytes the firmware would have sent raw);
 * refuses control characters (on the wire they would cut the request line: header injection).
 */
function encodePath(path: string): { path: string } | { problem: string } {
  let out = "";
  for (const c of path) {
    const code = c.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f) return { problem: `control character 0x${code.toString(16).padStart(2, "0")} in the path` };
    if (code > 0xff) return { problem: `character U+${code.toString(16).toUpperCase()} in the path (not Latin-1)` };
    out += code === 0x20 || code >= 0x80 ? `%${code.toString(16).toUpperCase().padStart(2, "0")}` : c;
  }
  return { path: out };
}

/** "host[:port][/path]" with or without "http://"; host a DNS name or dotted IPv4, port 1..65535. */
export function parseHttpUrl(url: string): Parsed {
  if (url.length > HTTP_URL_CHARS_MAX) return { problem: `longer than ${HTTP_URL_CHARS_MAX} characters` };
  let rest = url;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (scheme) {
    if (scheme[1]!.toLowerCase() !== "http") return { problem: `scheme ${printable(scheme[1]!, 16)} not supported` };
    rest = url.slice(scheme[0].length);
  }
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const colon = authority.indexOf(":");
  const host = colon < 0 ? authority : authority.slice(0, colon);
  if (host.length === 0) return { problem: "no host" };
  const hostProblem = dnsNameProblem(host);
  if (hostProblem) return { problem: `host: ${hostProblem}` };
  let port = 80;
  if (colon >= 0) {
    const text = authority.slice(colon + 1);
    port = /^\d{1,5}$/.test(text) ? Number(text) : 0;
    if (port < 1 || port > 65535) return { problem: `bad port ${printable(text, 16)}` };
  }
  const encoded = encodePath(slash < 0 ? "/" : rest.slice(slash));
  if ("problem" in encoded) return encoded;
  return { target: { host, port, path: encoded.path } };
}

/** A 302's Location: an absolute http URL, or an absolute path on the same host and port. */
export function resolveLocation(location: string, base: HttpTarget): Parsed {
  if (location.length === 0) return { problem: "empty" };
  if (location.startsWith("//")) return { problem: `scheme-relative ${printable(location)}` };
  if (location.startsWith("/")) {
    if (location.length > HTTP_URL_CHARS_MAX) return { problem: `longer than ${HTTP_URL_CHARS_MAX} characters` };
    const encoded = encodePath(location);
    return "problem" in encoded ? encoded : { target: { host: base.host, port: base.port, path: encoded.path } };
  }
  if (/^http:\/\//i.test(location)) return parseHttpUrl(location);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(location)) return { problem: `not an http URL: ${printable(location)}` };
  return { problem: `relative ${printable(location)}` };
}

/** The old splitter, for callers that only need the parts. */
export function splitUrl(url: string): HttpTarget | undefined {
  const parsed = parseHttpUrl(url);
  return "target" in parsed ? parsed.target : undefined;
}

/** Node's socket and parser errors as one short reason. */
export function describeHttpError(error: unknown, headerBytesMax = HTTP_HEADER_BYTES_MAX): string {
  const e = error as NodeJS.ErrnoException | undefined;
  switch (e?.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
      return "DNS: no such host";
    case "EAI_AGAIN":
      return "DNS: lookup failed (temporary)";
    case "ECONNRESET":
      return e.message === "socket hang up" ? "connection closed without an answer" : "connection reset";
    case "EHOSTUNREACH":
      return "host unreachable";
    case "ENETUNREACH":
      return "network unreachable";
    case "HPE_HEADER_OVERFLOW":
      return `bad answer: headers larger than ${headerBytesMax} bytes`;
    case "HPE_INVALID_CONSTANT":
      return "bad answer: no HTTP status line";
    case "HPE_INVALID_HEADER_TOKEN":
      return "bad answer: invalid character in a header";
    default:
      if (e?.code?.startsWith("HPE_")) return `bad answer: ${printable(e.message, 60)} (${e.code})`;
      return `failed: ${printable(e?.code ?? e?.message ?? String(error), 60)}`;
  }
}

export interface RealHttpOptions {
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  requestsInFlightMax?: number;
  /** Host name lookup (node:net's form); default dns.lookup. */
  lookup?: LookupFunction;
  /** The source address to connect from (a fleet spreads its rabbits over 127.x addresses). */
  localAddress?: string;
}

type Settings = Required<Omit<RealHttpOptions, "lookup" | "localAddress">> & { lookup?: LookupFunction; localAddress?: string };

/**
 * A timer for a deadline that fires only after the event loop has polled for I/O once more: when the loop was busy
 * (a burst of work), an answer that arrived meanwhile wins over a timeout that is merely late.
 */
function deadline(ms: number, expire: () => void): NodeJS.Timeout {
  return setTimeout(() => setImmediate(expire), ms);
}

const EMPTY = new Uint8Array();

/** One get(): its hops (redirects), its timers, its answer. */
class Exchange {
  private request: ClientRequest | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private hops = 0;
  private readonly visited = new Set<string>();
  /** What came so far, for the timeout message. */
  private progress = "";
  finished = false;

  constructor(
    private readonly settings: Settings,
    private readonly done: (answer: HttpAnswer) => void,
    private readonly onFinish: (exchange: Exchange) => void,
  ) {}

  start(target: HttpTarget): void {
    const ms = this.settings.responseTimeoutMs;
    this.deadline = deadline(ms, () => this.fail(`timeout: no complete answer within ${ms} ms${this.progress}`));
    this.send(target);
  }

  fail(error: string): void {
    this.finish({ status: -1, body: EMPTY, error });
  }

  private finish(answer: HttpAnswer): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.deadline);
    clearTimeout(this.connectTimer);
    this.request?.destroy();
    this.onFinish(this);
    // Never from inside the caller's own call (the rabbit would re-enter the module).
    setImmediate(() => this.done(answer));
  }

  private send(target: HttpTarget): void {
    this.visited.add(targetKey(target));
    this.progress = "";
    const request = httpRequest({
      host: target.host,
      port: target.port,
      path: target.path,
      method: "GET",
      // The firmware has IPv4 only; one socket per request, never pooled.
      family: 4,
      agent: false,
      setHost: false,
      maxHeaderSize: HTTP_HEADER_BYTES_MAX,
      ...(this.settings.lookup ? { lookup: this.settings.lookup } : {}),
      ...(this.settings.localAddress ? { localAddress: this.settings.localAddress } : {}),
      // The rabbit's own request headers (HTTP/1.0 semantics: the answer ends when the server closes).
      headers: { "User-Agent": "MTL", Pragma: "no-cache", "Icy-MetaData": "1", Host: target.host, Connection: "close" },
    });
    this.request = request;
    const connectMs = this.settings.connectTimeoutMs;
    clearTimeout(this.connectTimer);
    let connected = false;
    const connect = () => {
      connected = true;
      clearTimeout(this.connectTimer);
    };
    this.connectTimer = deadline(connectMs, () => {
      if (!connected && request === this.request) this.fail(`timeout: no connection within ${connectMs} ms`);
    });
    request.on("socket", (socket) => {
      if (socket.connecting) socket.once("connect", connect);
      else connect();
    });
    request.on("response", (response) => {
      if (request === this.request) this.onResponse(response, target);
    });
    request.on("error", (error) => {
      if (request === this.request) this.fail(describeHttpError(error));
    });
    request.end();
  }

  private onResponse(response: IncomingMessage, target: HttpTarget): void {
    const status = response.statusCode ?? -1;
    this.progress = ` (HTTP ${status}, no body yet)`;
    if (status !== 302) return this.readBody(response, status);
    const location = response.headers.location;
    if (this.hops >= HTTP_REDIRECTS_MAX) return this.finish({ status, body: EMPTY, error: `too many redirects (more than ${HTTP_REDIRECTS_MAX})` });
    const next = location === undefined ? { problem: "missing" } : resolveLocation(location, target);
    if ("problem" in next) return this.finish({ status, body: EMPTY, error: `bad Location: ${next.problem}` });
    if (this.visited.has(targetKey(next.target))) {
      return this.finish({ status, body: EMPTY, error: `redirect loop: back to ${printable(targetKey(next.target))}` });
    }
    this.hops++;
    this.request?.destroy();
    this.send(next.target);
  }

  /** Up to HTTP_BODY_BYTES_MAX bytes; beyond, the socket is closed and what fits is the answer. */
  private readBody(response: IncomingMessage, status: number): void {
    const chunks: Buffer[] = [];
    let size = 0;
    const statusError = status === 200 ? undefined : `HTTP ${status}`;
    response.on("data", (chunk: Buffer) => {
      if (this.finished) return;
      const room = HTTP_BODY_BYTES_MAX - size;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(chunk.length, room);
      this.progress = ` (HTTP ${status}, ${size} bytes of body)`;
      if (chunk.length <= room) return;
      const error = [statusError, `body too large: first ${HTTP_BODY_BYTES_MAX} bytes kept`].filter(Boolean).join("; ");
      this.finish({ status, body: Buffer.concat(chunks), error });
    });
    response.on("end", () => this.finish({ status, body: Buffer.concat(chunks), error: statusError }));
    // Content-Length or chunked said more was coming: an incomplete answer is no answer.
    const midBody = () => this.fail(`connection closed mid-body after ${size} bytes (HTTP ${status})`);
    response.on("error", midBody);
    response.on("close", () => {
      if (!response.complete) midBody();
    });
  }
}

function targetKey(target: HttpTarget): string {
  return `${target.host.toLowerCase()}:${target.port}${target.path}`;
}

export class RealHttp implements HttpClient {
  private readonly settings: Settings;
  private readonly inFlight: Exchange[] = [];

  constructor(options: RealHttpOptions = {}) {
    this.settings = {
      connectTimeoutMs: options.connectTimeoutMs ?? HTTP_CONNECT_TIMEOUT_MS,
      responseTimeoutMs: options.responseTimeoutMs ?? HTTP_RESPONSE_TIMEOUT_MS,
      requestsInFlightMax: options.requestsInFlightMax ?? HTTP_REQUESTS_IN_FLIGHT_MAX,
      lookup: options.lookup,
      localAddress: options.localAddress,
    };
  }

  get(url: string, done: (answer: HttpAnswer) => void, wantBody = true): void {
    const exchange = new Exchange(this.settings, done, (finished) => {
      const at = this.inFlight.indexOf(finished);
      if (at >= 0) this.inFlight.splice(at, 1);
    });
    const parsed = parseHttpUrl(url);
    if ("problem" in parsed) return exchange.fail(`bad URL: ${parsed.problem}`);
    const max = this.settings.requestsInFlightMax;
    if (this.inFlight.length >= max) {
      if (!wantBody) return exchange.fail(`refused: ${max} requests already in flight`);
      this.inFlight[0]!.fail(`aborted: a newer request needed one of the ${max} slots`);
    }
    this.inFlight.push(exchange);
    exchange.start(parsed.target);
  }

  /** Requests still open. */
  get pending(): number {
    return this.inFlight.length;
  }

  /** Aborts everything in flight (a clean stop); each gets its answer with status -1. */
  abortAll(): void {
    for (const exchange of [...this.inFlight]) exchange.fail("aborted: the client stopped");
  }
}

export class VirtualHttp implements HttpClient {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly handler: (url: string) => HttpAnswer | undefined,
    private readonly latency = 0,
  ) {}

  get(url: string, done: (answer: HttpAnswer) => void): void {
    this.scheduler.after(this.latency, () => done(this.handler(url) ?? { status: -1, body: new Uint8Array(), error: "no answer" }));
  }
}
